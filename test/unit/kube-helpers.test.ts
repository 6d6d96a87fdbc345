// The pure parts of the kube helpers: reading the API server's answers
// (apply conflicts, exec status, "no previous container") and resolving a
// Service port to a pod and container port.
import type { CoreV1Event, V1Pod, V1Service } from '@kubernetes/client-node';
import { ApiException } from '../../scripts/lib/kube/k8s.ts';
import { describe, expect, it } from 'vitest';
import { applyConflicts, sortEvents } from '../../scripts/lib/kube/api.ts';
import { execExitCode } from '../../scripts/lib/kube/exec.ts';
import {
  defaultContainer,
  kubeletLogError,
  logsUnavailable,
  noPreviousContainer,
  podLogs,
} from '../../scripts/lib/kube/logs.ts';
import type { Kube } from '../../scripts/lib/kube/client.ts';
import { containerPort, resolveServiceTarget } from '../../scripts/lib/kube/port-forward.ts';
import { Exit, OpsError } from '../../scripts/lib/kit/errors.ts';

const status = (code: number, body: object) =>
  new ApiException(
    code,
    `HTTP-Code: ${code}`,
    JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, ...body }),
    {},
  );

describe('applyConflicts', () => {
  it('reads each conflicting field and its manager from a 409', () => {
    const e = status(409, {
      reason: 'Conflict',
      message:
        'Apply failed with 2 conflicts: conflict with "helm" using v1: .data.greeting\nconflict with "helm" using v1: .data.color',
      details: {
        causes: [
          { reason: 'FieldManagerConflict', message: 'conflict with "helm" using v1', field: '.data.greeting' },
          { reason: 'FieldManagerConflict', message: 'conflict with "helm" using v1', field: '.data.color' },
        ],
      },
    });
    expect(applyConflicts(e)).toEqual([
      { manager: 'helm', field: '.data.greeting' },
      { manager: 'helm', field: '.data.color' },
    ]);
  });
  it('is undefined for other errors, including a 409 that is not about field managers', () => {
    expect(applyConflicts(status(409, { reason: 'AlreadyExists', message: 'exists' }))).toBeUndefined();
    expect(applyConflicts(status(422, { message: 'invalid' }))).toBeUndefined();
    expect(applyConflicts(new Error('x'))).toBeUndefined();
  });
});

describe('sortEvents', () => {
  it('newest first, whichever timestamp the event carries', () => {
    const ev = (name: string, t: Partial<CoreV1Event>) =>
      ({ metadata: { name }, involvedObject: {}, ...t }) as CoreV1Event;
    const sorted = sortEvents([
      ev('old', { lastTimestamp: new Date('2026-01-01T00:00:00Z') }),
      ev('newest', { eventTime: new Date('2026-01-03T00:00:00Z') }),
      ev('mid', { lastTimestamp: new Date('2026-01-02T00:00:00Z') }),
    ]);
    expect(sorted.map((e) => e.metadata?.name)).toEqual(['newest', 'mid', 'old']);
  });
});

describe('execExitCode', () => {
  it('Success is 0, NonZeroExitCode is its code, anything else is not an exit code', () => {
    expect(execExitCode({ status: 'Success' })).toBe(0);
    expect(
      execExitCode({
        status: 'Failure',
        reason: 'NonZeroExitCode',
        message: 'command terminated with non-zero exit code: exit status 3',
        details: { causes: [{ reason: 'ExitCode', message: '3' }] },
      }),
    ).toBe(3);
    expect(
      execExitCode({
        status: 'Failure',
        reason: 'InternalError',
        message: 'exec: "pg_dump": executable file not found in $PATH',
      }),
    ).toBeUndefined();
  });
});

describe('logs', () => {
  it('a container the pod showed exited, replaced while its log was asked for: its log is read as the previous one', async () => {
    // What a real kubelet does in a fast crash loop: the dead container it was asked for is gone, its log is "previous".
    const asked: (boolean | undefined)[] = [];
    const kube = {
      core: {
        readNamespacedPodLog: async (o: { previous?: boolean }) => {
          asked.push(o.previous);
          return o.previous ? 'starting\nFATAL: no\n' : 'unable to retrieve container logs for containerd://6772';
        },
      },
    } as unknown as Kube;
    const pod = {
      metadata: { name: 'crashy' },
      spec: { containers: [{ name: 'app' }] },
      status: { containerStatuses: [{ name: 'app', restartCount: 1, state: { terminated: { exitCode: 3 } } }] },
    } as unknown as V1Pod;
    const r = await podLogs(kube, { namespace: 'ns', pod: 'crashy', container: 'app', podObject: pod });
    expect(r).toEqual({ container: 'app', text: 'starting\nFATAL: no\n' });
    expect(asked).toEqual([undefined, true]);
  });

  it('a missing previous container or a container still starting is "unavailable", with the server\'s sentence', () => {
    expect(
      logsUnavailable(status(400, { message: 'previous terminated container "app" in pod "web-1" not found' })),
    ).toBe('previous terminated container "app" in pod "web-1" not found');
    // The real kubelet's in-band error (a 200 whose body is its message) for a container removed while it read: not a log line.
    expect(kubeletLogError('unable to retrieve container logs for containerd://961b7d6d85c9e474')).toBe(
      'unable to retrieve container logs for containerd://961b7d6d85c9e474',
    );
    expect(kubeletLogError('unable to retrieve container logs for containerd://961b\n')).toBe(
      'unable to retrieve container logs for containerd://961b',
    );
    expect(kubeletLogError('FATAL: unable to retrieve container logs for x\nand more')).toBeUndefined();
    expect(
      logsUnavailable(
        status(400, { message: 'container "app" in pod "web-1" is waiting to start: ContainerCreating' }),
      ),
    ).toMatch(/waiting to start/);
    expect(logsUnavailable(status(400, { message: 'a container name must be specified' }))).toBeUndefined();
    expect(logsUnavailable(status(404, { message: 'pods "x" not found' }))).toBeUndefined();
  });
  it('no previous container: known from the pod status, before asking the kubelet', () => {
    const pod = (cs: object): V1Pod => ({
      metadata: { name: 'web-1' },
      status: { containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: true, restartCount: 0, ...cs }] },
    });
    expect(noPreviousContainer(pod({}), 'app')).toBe(
      'container app of pod web-1 has not restarted: there is no previous container',
    );
    expect(
      noPreviousContainer(pod({ restartCount: 2, lastState: { terminated: { exitCode: 1 } } }), 'app'),
    ).toBeUndefined();
  });
  it('the default container: the annotation, else the first', () => {
    expect(defaultContainer({ spec: { containers: [{ name: 'a' }, { name: 'b' }] } })).toBe('a');
    expect(
      defaultContainer({
        metadata: { annotations: { 'kubectl.kubernetes.io/default-container': 'b' } },
        spec: { containers: [{ name: 'a' }, { name: 'b' }] },
      }),
    ).toBe('b');
  });
});

describe('resolveServiceTarget', () => {
  const pod = (name: string, ready: boolean, created: string, extra: Partial<V1Pod['metadata']> = {}): V1Pod => ({
    metadata: { name, creationTimestamp: new Date(created), labels: { app: 'api' }, ...extra },
    spec: {
      containers: [
        {
          name: 'api',
          ports: [
            { name: 'http', containerPort: 8000 },
            { name: 'metrics', containerPort: 9100 },
          ],
        },
      ],
    },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });
  const svc = (
    ports: NonNullable<V1Service['spec']>['ports'],
    selector: Record<string, string> | undefined = { app: 'api' },
  ): V1Service => ({
    metadata: { name: 'api', namespace: 'todo' },
    spec: { selector, ports },
  });
  const pods = [
    pod('api-new', true, '2026-01-02T00:00:00Z'),
    pod('api-old', true, '2026-01-01T00:00:00Z'),
    pod('api-broken', false, '2025-12-31T00:00:00Z'),
  ];

  it('a named targetPort resolves to the container port of the oldest ready pod', () => {
    expect(resolveServiceTarget(svc([{ name: 'web', port: 80, targetPort: 'http' as never }]), pods, 80)).toEqual({
      pod: 'api-old',
      targetPort: 8000,
    });
  });
  it('the Service port may be given by name; a numeric targetPort is used as is; no targetPort means the port itself', () => {
    expect(
      resolveServiceTarget(svc([{ name: 'metrics', port: 9000, targetPort: 9100 as never }]), pods, 'metrics'),
    ).toEqual({ pod: 'api-old', targetPort: 9100 });
    expect(resolveServiceTarget(svc([{ port: 8000 }]), pods, '8000')).toEqual({ pod: 'api-old', targetPort: 8000 });
  });
  it('terminating pods are skipped', () => {
    const going = pod('api-old', true, '2026-01-01T00:00:00Z', { deletionTimestamp: new Date() });
    expect(resolveServiceTarget(svc([{ port: 80, targetPort: 'http' as never }]), [going, pods[0]!], 80).pod).toBe(
      'api-new',
    );
  });
  it('says what is missing: the port, a ready pod, the selector, the named container port', () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as OpsError;
      }
      throw new Error('did not throw');
    };
    expect(err(() => resolveServiceTarget(svc([{ name: 'web', port: 80 }]), pods, 81))).toMatchObject({
      code: Exit.usage,
      message: 'service/api has no port 81',
      hint: 'its ports: 80 (web)',
    });
    expect(err(() => resolveServiceTarget(svc([{ port: 80 }]), [pods[2]!], 80)).message).toBe(
      'no ready pod behind service/api (app=api; 1 pods match)',
    );
    expect(err(() => resolveServiceTarget(svc([{ port: 80 }], {}), pods, 80)).message).toMatch(/has no selector/);
    expect(err(() => resolveServiceTarget(svc([{ port: 80, targetPort: 'grpc' as never }]), pods, 80))).toBeInstanceOf(
      OpsError,
    );
  });
  it('containerPort by number or by name', () => {
    expect(containerPort(pods[0]!, 'metrics')).toBe(9100);
    expect(containerPort(pods[0]!, 1234)).toBe(1234);
    expect(containerPort(pods[0]!, 'nope')).toBeUndefined();
  });
});

describe('transient network failures', () => {
  it('a response cut short by a proxy (node-fetch "Premature close") is retried like a reset', async () => {
    const { isTransient } = await import('../../scripts/lib/kube/api.ts');
    const cut = Object.assign(
      new Error('Invalid response body while trying to fetch https://127.0.0.1:1/api/v1/pods: Premature close'),
      { name: 'FetchError', type: 'system' },
    );
    expect(isTransient(cut)).toBe(true);
    expect(isTransient(Object.assign(new Error('x'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }))).toBe(true);
    expect(isTransient(new Error('forbidden'))).toBe(false);
  });
});
