// debug's diagnosis on plain objects: every failure class, its evidence and
// the next command; which logs are worth reading; narrowing to one object.
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { nearestPods } from '../../scripts/lib/diagnose/analyzers/objects.ts';
import { probeTarget } from '../../scripts/lib/diagnose/analyzers/pod.ts';
import {
  diagnose,
  logRequests,
  relatedObjects,
  resolveTargets,
  tailLines,
} from '../../scripts/lib/diagnose/diagnose.ts';
import type { DiagnoseInput, LogTail } from '../../scripts/lib/diagnose/input.ts';
import { missingRefs } from '../../scripts/lib/diagnose/refs.ts';

const now = new Date('2026-11-27T12:00:00Z');
const ago = (sec: number) => new Date(now.getTime() - sec * 1000);
const ns = 'todo';

type PodOver = {
  labels?: Record<string, string>;
  phase?: string;
  ready?: boolean;
  restartPolicy?: string;
  container?: Record<string, unknown>;
  status?: Record<string, unknown>;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
  owner?: { kind: string; name: string };
  annotations?: Record<string, string>;
  ageSec?: number;
  volumes?: unknown[];
  nodeName?: string | null;
};
function pod(name: string, o: PodOver = {}): V1Pod {
  const ready = o.ready ?? true;
  return {
    metadata: {
      name,
      namespace: ns,
      uid: `uid-${name}`,
      labels: o.labels ?? { app: 'web' },
      creationTimestamp: ago(o.ageSec ?? 600),
      annotations: o.annotations,
      ...(o.owner
        ? {
            ownerReferences: [{ apiVersion: 'v1', kind: o.owner.kind, name: o.owner.name, uid: 'x', controller: true }],
          }
        : {}),
    },
    spec: {
      nodeName: o.nodeName === null ? undefined : (o.nodeName ?? 'n1'),
      restartPolicy: o.restartPolicy ?? 'Always',
      containers: [{ name: 'app', image: 'registry.example/app:1.0', ...o.container }],
      volumes: o.volumes as never,
    },
    status: {
      phase: o.phase ?? 'Running',
      conditions: o.conditions ?? [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Ready', status: ready ? 'True' : 'False' },
      ],
      containerStatuses: [
        {
          name: 'app',
          image: 'registry.example/app:1.0',
          imageID: '',
          ready,
          restartCount: 0,
          state: { running: {} },
          ...o.status,
        },
      ],
    },
  } as V1Pod;
}
const event = (
  obj: { kind: string; name: string; fieldPath?: string },
  reason: string,
  message: string,
  agoSec = 30,
  count = 1,
): CoreV1Event => ({
  metadata: { name: `${obj.name}.${reason}.${agoSec}` },
  type: 'Warning',
  reason,
  message,
  count,
  lastTimestamp: ago(agoSec),
  involvedObject: { kind: obj.kind, name: obj.name, fieldPath: obj.fieldPath },
});
const input = (over: Partial<DiagnoseInput>): DiagnoseInput => ({
  namespace: ns,
  now,
  sinceSec: 3600,
  pods: [],
  deployments: [],
  statefulSets: [],
  jobs: [],
  services: [],
  ingresses: [],
  hpas: [],
  pvcs: [],
  configMaps: [],
  secrets: [],
  events: [],
  ...over,
});
const tail = (p: string, lines: string[], previous = true): [string, LogTail] => [
  `${p}/app`,
  { pod: p, container: 'app', previous, lines },
];
const crashing = (exitCode: number, reason = 'Error', restarts = 4) => ({
  ready: false,
  status: {
    ready: false,
    restartCount: restarts,
    state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container=app' } },
    lastState: { terminated: { exitCode, reason, finishedAt: ago(20) } },
  },
});

describe('diagnose: pods', () => {
  it('nothing wrong: one ok finding', () => {
    const f = diagnose(input({ pods: [pod('web-1')] }));
    expect(f).toEqual([
      {
        name: 'no problems',
        level: 'ok',
        detail: 'nothing wrong in namespace todo: 1 pods, 0 workloads, 0 services checked',
      },
    ]);
  });

  it("unschedulable: the scheduler's own message and the requests", () => {
    const msg =
      '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';
    const p = pod('huge', {
      phase: 'Pending',
      ready: false,
      nodeName: null,
      container: { resources: { requests: { cpu: '64', memory: '1Gi' } } },
      conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: msg }],
      status: { state: undefined },
    });
    p.status!.containerStatuses = undefined;
    const [f] = diagnose(input({ pods: [p] }));
    expect(f).toMatchObject({
      name: 'unschedulable',
      level: 'fail',
      object: { kind: 'Pod', name: 'huge', namespace: ns },
      evidence: { reason: 'Unschedulable', message: msg, requests: { cpu: '64', memory: '1Gi' } },
    });
    expect(f!.detail).toBe(`huge: the scheduler says: ${msg} (requests cpu 64, memory 1Gi)`);
    expect(f!.hint).toMatch(/kubectl describe nodes/);
  });

  it("image pull error: which image and which reason, with the kubelet's message", () => {
    const p = pod('web-1', {
      ready: false,
      container: { image: 'registry.example/app:nope' },
      status: {
        ready: false,
        state: {
          waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "registry.example/app:nope"' },
        },
      },
    });
    const ev = event(
      { kind: 'Pod', name: 'web-1', fieldPath: 'spec.containers{app}' },
      'Failed',
      'Failed to pull image "registry.example/app:nope": rpc error: code = NotFound desc = failed to pull and unpack image: not found',
    );
    const [f] = diagnose(input({ pods: [p], events: [ev] }));
    expect(f).toMatchObject({
      name: 'image pull error',
      evidence: { reason: 'ImagePullBackOff', image: 'registry.example/app:nope', container: 'app' },
    });
    expect(f!.detail).toBe(
      'web-1: cannot pull image registry.example/app:nope (ImagePullBackOff): Failed to pull image "registry.example/app:nope": rpc error: code = NotFound desc = failed to pull and unpack image: not found',
    );
  });

  it('image pull error: the kubelet\'s bare "Error: ErrImageNeverPull" event does not hide the reason (real kubelet)', () => {
    const msg = 'Container image "localhost/app:nope" is not present with pull policy of Never';
    const p = pod('web-1', {
      ready: false,
      container: { image: 'localhost/app:nope' },
      status: { ready: false, state: { waiting: { reason: 'ErrImageNeverPull', message: msg } } },
    });
    const evs = [
      event({ kind: 'Pod', name: 'web-1', fieldPath: 'spec.containers{app}' }, 'Failed', 'Error: ErrImageNeverPull', 5),
      event({ kind: 'Pod', name: 'web-1', fieldPath: 'spec.containers{app}' }, 'ErrImageNeverPull', msg, 5),
    ];
    const [f] = diagnose(input({ pods: [p], events: evs }));
    expect(f!.detail).toBe(`web-1: cannot pull image localhost/app:nope (ErrImageNeverPull): ${msg}`);
  });

  it("crash loop: last termination reason, exit code, restarts and the previous container's last lines quoted", () => {
    const p = pod('api-1', crashing(3));
    const logs = new Map([tail('api-1', ['starting', 'connecting to db', 'FATAL: database "todo" does not exist'])]);
    const [f] = diagnose(input({ pods: [p], logs }));
    expect(f!.name).toBe('crash loop');
    expect(f!.detail).toBe(
      'api-1: container app is crash-looping: last exit code 3 (Error), 4 restarts; the previous container last printed: "starting", "connecting to db", "FATAL: database \\"todo\\" does not exist"',
    );
    expect(f!.evidence).toMatchObject({
      reason: 'CrashLoopBackOff',
      lastReason: 'Error',
      exitCode: 3,
      restarts: 4,
      container: 'app',
      logLines: ['starting', 'connecting to db', 'FATAL: database "todo" does not exist'],
      logPrevious: true,
    });
    expect(f!.hint).toBe('kubectl -n todo logs api-1 -c app --previous');
  });

  it('a crash loop caused by a failing liveness probe says so', () => {
    const p = pod('api-1', {
      ...crashing(137, 'Error'),
      container: { livenessProbe: { httpGet: { path: '/healthz', port: 'http' } } },
    });
    const ev = event(
      { kind: 'Pod', name: 'api-1', fieldPath: 'spec.containers{app}' },
      'Unhealthy',
      'Liveness probe failed: Get "http://10.0.0.1:8000/healthz": context deadline exceeded',
    );
    const [f] = diagnose(input({ pods: [p], events: [ev] }));
    expect(f!.name).toBe('crash loop');
    expect(f!.detail).toMatch(
      /; killed by its liveness probe: Liveness probe failed: Get "http:\/\/10\.0\.0\.1:8000\/healthz": context deadline exceeded$/,
    );
  });

  it('unschedulable for an unbound claim points at the claims', () => {
    const p = pod('db-0', {
      phase: 'Pending',
      ready: false,
      nodeName: null,
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: '0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims.',
        },
      ],
    });
    p.status!.containerStatuses = undefined;
    expect(diagnose(input({ pods: [p] }))[0]!.hint).toBe(
      'kubectl -n todo get pvc   # a claim of this pod is not bound',
    );
  });

  it('crash loop whose log cannot be read says why', () => {
    const logs = new Map<string, LogTail>([
      [
        'api-1/app',
        { pod: 'api-1', container: 'app', previous: true, lines: [], unavailable: 'the node serves no logs' },
      ],
    ]);
    const [f] = diagnose(input({ pods: [pod('api-1', crashing(1))], logs }));
    expect(f!.detail).toMatch(/; no log lines \(the node serves no logs\)$/);
    expect(f!.evidence).toMatchObject({ logLines: [], logUnavailable: 'the node serves no logs' });
  });

  it('OOMKilled: the limit and the observed usage', () => {
    const p = pod('api-1', {
      ...crashing(137, 'OOMKilled', 2),
      container: { resources: { limits: { memory: '128Mi' } } },
    });
    const metrics = [
      { metadata: { name: 'api-1' }, containers: [{ name: 'app', usage: { cpu: '10m', memory: `${120 * 1024}Ki` } }] },
    ];
    const [f] = diagnose(input({ pods: [p], metrics }));
    expect(f).toMatchObject({
      name: 'OOMKilled',
      evidence: { reason: 'OOMKilled', limit: '128Mi', usage: '120Mi', exitCode: 137, restarts: 2 },
    });
    expect(f!.detail).toBe(
      'api-1: container app was killed for using more memory than its limit (128Mi); using 120Mi now, exit code 137, 2 restarts',
    );
    expect(f!.hint).toMatch(/raise the memory limit of app \(now 128Mi\)/);
  });

  it("failing readiness probe: the probe's path and the answer, from the Unhealthy events", () => {
    const p = pod('api-1', {
      ready: false,
      container: { readinessProbe: { httpGet: { path: '/readyz', port: 'http' } } },
      status: { ready: false, state: { running: {} } },
    });
    const events = [
      event(
        { kind: 'Pod', name: 'api-1', fieldPath: 'spec.containers{app}' },
        'Unhealthy',
        'Readiness probe failed: HTTP probe failed with statuscode: 404',
        5,
        7,
      ),
      event(
        { kind: 'Pod', name: 'api-1', fieldPath: 'spec.containers{app}' },
        'Unhealthy',
        'Readiness probe failed: Get "http://10.0.0.1:8000/readyz": connection refused',
        90,
        2,
      ),
    ];
    const [f] = diagnose(input({ pods: [p], events }));
    expect(f).toMatchObject({
      name: 'probe failing',
      evidence: {
        probe: 'readiness',
        container: 'app',
        path: '/readyz',
        port: 'http',
        target: 'GET :http/readyz',
        answer: 'HTTP probe failed with statuscode: 404',
        count: 9,
      },
    });
    expect(f!.detail).toBe(
      'api-1: readiness probe GET :http/readyz of container app fails: HTTP probe failed with statuscode: 404 (9 times)',
    );
  });

  it('Unhealthy events older than --since are left out', () => {
    const p = pod('api-1', { ready: false, status: { ready: false, state: { running: {} } } });
    const events = [
      event(
        { kind: 'Pod', name: 'api-1' },
        'Unhealthy',
        'Readiness probe failed: HTTP probe failed with statuscode: 503',
        7200,
      ),
    ];
    const [f] = diagnose(input({ pods: [p], events, sinceSec: 600 }));
    expect(f!.name).toBe('pod not ready');
  });

  it("missing Secret key: the kubelet's CreateContainerConfigError and the reference named", () => {
    const p = pod('api-1', {
      ready: false,
      container: { env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] },
      status: {
        ready: false,
        state: {
          waiting: { reason: 'CreateContainerConfigError', message: "couldn't find key password in Secret todo/db" },
        },
      },
    });
    const [f] = diagnose(input({ pods: [p], secrets: [{ name: 'db', keys: ['username'] }] }));
    expect(f).toMatchObject({
      name: 'missing config',
      evidence: {
        reason: 'CreateContainerConfigError',
        missing: [{ container: 'app', kind: 'Secret', name: 'db', key: 'password', via: 'env DB_PASSWORD' }],
      },
    });
    expect(f!.detail).toBe(
      "api-1: CreateContainerConfigError: couldn't find key password in Secret todo/db; refers to a missing key password of Secret db (env DB_PASSWORD of container app)",
    );
    expect(f!.hint).toMatch(/^kubectl -n todo get secret db /);
  });

  it('missing ConfigMap, read from the spec before any kubelet complains', () => {
    const p = pod('web-1', {
      container: {
        envFrom: [{ configMapRef: { name: 'settings' } }, { secretRef: { name: 'maybe', optional: true } }],
      },
    });
    const [f] = diagnose(input({ pods: [p] }));
    expect(f).toMatchObject({
      name: 'missing config',
      evidence: { reason: 'missing reference', missing: [{ kind: 'ConfigMap', name: 'settings', via: 'envFrom' }] },
    });
  });

  it('missingRefs: Secrets the user may not list (RBAC) are not called missing', () => {
    const p = pod('p', { container: { envFrom: [{ secretRef: { name: 'app' } }, { configMapRef: { name: 'cfg' } }] } });
    expect(missingRefs(p, [], undefined)).toEqual([
      { container: 'app', kind: 'ConfigMap', name: 'cfg', via: 'envFrom' },
    ]);
  });

  it('missingRefs: volumes and their items, optional ones skipped', () => {
    const p = pod('p', {
      container: {
        volumeMounts: [
          { name: 'cfg', mountPath: '/c' },
          { name: 'tls', mountPath: '/t' },
        ],
      },
      volumes: [
        { name: 'cfg', configMap: { name: 'cfg', items: [{ key: 'a.yaml', path: 'a' }] } },
        { name: 'tls', secret: { secretName: 'tls', optional: true } },
      ],
    });
    expect(missingRefs(p, [{ name: 'cfg', keys: ['b.yaml'] }], [])).toEqual([
      { container: 'app', kind: 'ConfigMap', name: 'cfg', key: 'a.yaml', via: 'volume cfg' },
    ]);
  });

  it('a Job pod in Error with restartPolicy Never: not retried, with its exit code and its own log', () => {
    const p = pod('migrate-x1', {
      phase: 'Failed',
      ready: false,
      restartPolicy: 'Never',
      owner: { kind: 'Job', name: 'migrate' },
      status: { ready: false, state: { terminated: { exitCode: 2, reason: 'Error' } } },
    });
    const job = {
      metadata: { name: 'migrate' },
      status: { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] },
    };
    const logs = new Map([
      tail('migrate-x1', ['alembic upgrade head', 'ERROR: relation "todos" already exists'], false),
    ]);
    const [f] = diagnose(input({ pods: [p], jobs: [job] as never, logs }));
    expect(f).toMatchObject({
      name: 'pod failed',
      evidence: {
        reason: 'Error',
        exitCode: 2,
        restartPolicy: 'Never',
        jobCondition: 'BackoffLimitExceeded',
        owner: 'job/migrate',
        logPrevious: false,
      },
    });
    expect(f!.detail).toBe(
      'migrate-x1 (job/migrate): Error, exit code 2, restartPolicy Never: it will not be retried; the Job failed: BackoffLimitExceeded; it last printed: "alembic upgrade head", "ERROR: relation \\"todos\\" already exists"',
    );
    expect(f!.hint).toBe('kubectl -n todo logs migrate-x1 -c app');
  });

  it('a helm hook pod that failed is named as such', () => {
    const p = pod('todo-test-readyz', {
      phase: 'Failed',
      ready: false,
      restartPolicy: 'Never',
      annotations: { 'helm.sh/hook': 'test' },
      status: { ready: false, state: { terminated: { exitCode: 1, reason: 'Error' } } },
    });
    const [f] = diagnose(input({ pods: [p] }));
    expect(f!.detail).toMatch(/^todo-test-readyz \(helm test hook\): Error, exit code 1/);
  });

  it('a pod that is only starting is a warning that does not fail the run; an old not-ready one fails', () => {
    const young = pod('web-1', {
      ready: false,
      ageSec: 10,
      status: { ready: false, state: { waiting: { reason: 'ContainerCreating' } } },
    });
    const old = pod('web-2', { ready: false, ageSec: 900, status: { ready: false, state: { running: {} } } });
    const f = diagnose(input({ pods: [young, old] }));
    expect(f.map((x) => [x.name, x.level, x.required])).toEqual([
      ['pod not ready', 'warn', false],
      ['pod not ready', 'fail', undefined],
    ]);
  });
});

describe('diagnose: Services, Ingresses, HPAs, volume claims, rollouts', () => {
  const svc = (name: string, selector: Record<string, string>, ports = [{ name: 'http', port: 80 }]) => ({
    metadata: { name },
    spec: { selector, ports },
  });

  it('a Service whose selector matches no pod, and the labels the pods have instead', () => {
    const f = diagnose(
      input({
        pods: [pod('api-1', { labels: { app: 'api', tier: 'backend' } }), pod('db-0', { labels: { app: 'db' } })],
        services: [svc('api', { app: 'apii', tier: 'backend' })] as never,
      }),
    );
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      name: 'service selects no pods',
      object: { kind: 'Service', name: 'api' },
      evidence: { selector: { app: 'apii', tier: 'backend' } },
    });
    expect(f[0]!.detail).toBe(
      'service/api selects app=apii,tier=backend: no pod has these labels; closest: pod api-1 has app=api',
    );
    expect((f[0]!.evidence!.nearest as { pod: string }[])[0]).toEqual({
      pod: 'api-1',
      labels: { app: 'api', tier: 'backend' },
      differs: { app: 'api' },
    });
  });

  it('nearestPods: no pod shares anything: none', () => {
    expect(nearestPods({ app: 'x' }, [pod('a', { labels: { foo: 'bar' } })])).toEqual([]);
  });

  it('an Ingress to a missing Service, and to a port the Service does not have', () => {
    const ing = {
      metadata: { name: 'web' },
      spec: {
        rules: [
          {
            host: 'todo.local',
            http: {
              paths: [
                { path: '/', backend: { service: { name: 'frontend', port: { number: 3000 } } } },
                { path: '/api', backend: { service: { name: 'backendd', port: { number: 8000 } } } },
              ],
            },
          },
        ],
      },
    };
    const f = diagnose(
      input({
        pods: [pod('f', { labels: { app: 'frontend' } })],
        services: [svc('frontend', { app: 'frontend' }, [{ name: 'http', port: 80 }])] as never,
        ingresses: [ing] as never,
      }),
    );
    expect(f.map((x) => x.name)).toEqual(['ingress to a missing port', 'ingress to a missing service']);
    expect(f[0]!.detail).toBe('ingress/web: todo.local/ goes to port 3000 of service frontend, which has 80 (http)');
    expect(f[1]!.detail).toBe(
      'ingress/web: todo.local/api goes to service backendd, which does not exist (services: frontend)',
    );
  });

  it("an HPA without metrics: the controller's reason, and which request is missing", () => {
    const hpa = {
      metadata: { name: 'api', creationTimestamp: ago(300) },
      spec: {
        scaleTargetRef: { kind: 'Deployment', name: 'api' },
        maxReplicas: 3,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        ],
      },
      status: {
        conditions: [
          { type: 'AbleToScale', status: 'True' },
          {
            type: 'ScalingActive',
            status: 'False',
            reason: 'FailedGetResourceMetric',
            message:
              'the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu in container app of Pod api-1',
          },
        ],
      },
    };
    const [f] = diagnose(input({ hpas: [hpa] as never }));
    expect(f).toMatchObject({
      name: 'HPA without metrics',
      evidence: { reason: 'FailedGetResourceMetric', target: 'Deployment/api', missingRequest: 'cpu' },
    });
    expect(f!.hint).toBe('set resources.requests.cpu on every container of deployment/api');
    // A new HPA gets a minute before "no metrics yet" counts.
    const young = { ...hpa, metadata: { name: 'new', creationTimestamp: ago(10) }, status: {} };
    expect(diagnose(input({ hpas: [young] as never }))[0]!.name).toBe('no problems');
  });

  it("a pending volume claim, with the provisioner's event", () => {
    const pvc = {
      metadata: { name: 'data' },
      spec: { storageClassName: 'fast', resources: { requests: { storage: '1Gi' } } },
      status: { phase: 'Pending' },
    };
    const ev = event(
      { kind: 'PersistentVolumeClaim', name: 'data' },
      'ProvisioningFailed',
      'storageclass.storage.k8s.io "fast" not found',
    );
    const [f] = diagnose(input({ pvcs: [pvc] as never, events: [ev] }));
    expect(f).toMatchObject({
      name: 'volume claim pending',
      evidence: { phase: 'Pending', storageClass: 'fast', reason: 'ProvisioningFailed' },
    });
    expect(f!.detail).toBe(
      'pvc/data: Pending (storage class fast, 1Gi): ProvisioningFailed: storageclass.storage.k8s.io "fast" not found',
    );
  });

  it('a stuck rollout: the deadline, and the pod holding it back', () => {
    const d = {
      metadata: { name: 'api' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'api' } } },
      status: {
        updatedReplicas: 1,
        availableReplicas: 1,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "api-2" has timed out progressing.',
          },
        ],
      },
    };
    const f = diagnose(
      input({ deployments: [d] as never, pods: [pod('api-2-x', { labels: { app: 'api' }, ...crashing(1) })] }),
    );
    expect(f.map((x) => x.name)).toEqual(['crash loop', 'rollout stuck']);
    expect(f[1]!.detail).toBe(
      'deployment/api: progress deadline exceeded (ReplicaSet "api-2" has timed out progressing.); 1/2 updated, 1 available; pod api-2-x: CrashLoopBackOff',
    );
    expect(f[1]!.hint).toMatch(
      /^npx zx scripts\/debug\.ts -n todo api-2-x; or roll back: kubectl -n todo rollout undo deployment\/api$/,
    );
  });
});

describe('which logs to read', () => {
  it('failing containers only (previous for crash loops, its own for a terminated one), most telling first, bounded', () => {
    const pods = [
      pod('ok-1'),
      pod('crash-1', crashing(1)),
      pod('oom-1', crashing(137, 'OOMKilled')),
      pod('job-1', {
        phase: 'Failed',
        restartPolicy: 'Never',
        ready: false,
        status: { ready: false, state: { terminated: { exitCode: 1, reason: 'Error' } } },
      }),
    ];
    expect(logRequests(pods, 10)).toEqual([
      { pod: 'oom-1', container: 'app', previous: true },
      { pod: 'crash-1', container: 'app', previous: true },
      { pod: 'job-1', container: 'app', previous: false },
    ]);
    expect(logRequests(pods, 1)).toHaveLength(1);
    expect(
      logRequests(
        Array.from({ length: 1000 }, (_, i) => pod(`ok-${i}`)),
        10,
      ),
    ).toEqual([]);
  });
  it('tailLines: the last lines, without the trailing newline', () => {
    expect(tailLines('a\nb\nc\n', 2)).toEqual(['b', 'c']);
    expect(tailLines('', 5)).toEqual([]);
  });
  it('probeTarget', () => {
    expect(probeTarget({ tcpSocket: { port: 5432 as never } })).toBe('TCP :5432');
    expect(probeTarget({ exec: { command: ['pg_isready', '-U', 'todo'] } })).toBe('exec pg_isready -U todo');
  });
});

describe('narrowing to one object', () => {
  const d = {
    metadata: { name: 'api' },
    spec: { selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } } } },
  };
  const base = input({
    deployments: [d] as never,
    pods: [
      pod('api-1', { labels: { app: 'api' }, ...crashing(1) }),
      pod('web-1', { labels: { app: 'web' }, ...crashing(2) }),
    ],
    services: [
      { metadata: { name: 'api' }, spec: { selector: { app: 'api' }, ports: [{ port: 80 }] } },
      { metadata: { name: 'ghost' }, spec: { selector: { app: 'gone' } } },
    ] as never,
    hpas: [{ metadata: { name: 'api' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'api' } } }] as never,
  });
  it('a name is every kind that has it (deployment, service and HPA "api"); kind/name picks one; unknown is empty', () => {
    expect(resolveTargets(base, 'api-1')).toEqual([{ kind: 'Pod', name: 'api-1' }]);
    expect(resolveTargets(base, 'api')).toEqual([
      { kind: 'Deployment', name: 'api' },
      { kind: 'Service', name: 'api' },
      { kind: 'HorizontalPodAutoscaler', name: 'api' },
    ]);
    expect(resolveTargets(base, 'svc/api')).toEqual([{ kind: 'Service', name: 'api' }]);
    expect(resolveTargets(base, 'deploy/api')).toEqual([{ kind: 'Deployment', name: 'api' }]);
    expect(resolveTargets(base, 'hpa/api')).toEqual([{ kind: 'HorizontalPodAutoscaler', name: 'api' }]);
    expect(resolveTargets(base, 'svc/api-1')).toEqual([]);
    expect(resolveTargets(base, 'nope')).toEqual([]);
    expect(resolveTargets(base, 'cm/x')).toMatch(/^unknown kind "cm"/);
  });
  it('an HPA: itself and what its target relates to; a claim: itself and the pods that mount it', () => {
    expect([...relatedObjects(base, { kind: 'HorizontalPodAutoscaler', name: 'api' })].sort()).toEqual([
      'Deployment/api',
      'HorizontalPodAutoscaler/api',
      'Pod/api-1',
      'Service/api',
    ]);
    const withClaim = {
      ...base,
      pods: [pod('db-0', { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-db-0' } }] })],
    } as never;
    expect([...relatedObjects(withClaim, { kind: 'PersistentVolumeClaim', name: 'data-db-0' })].sort()).toEqual([
      'PersistentVolumeClaim/data-db-0',
      'Pod/db-0',
    ]);
  });
  it('a deployment: itself, its pods, its Services and HPA; not the other pods', () => {
    expect([...relatedObjects(base, { kind: 'Deployment', name: 'api' })].sort()).toEqual([
      'Deployment/api',
      'HorizontalPodAutoscaler/api',
      'Pod/api-1',
      'Service/api',
    ]);
    expect([...relatedObjects(base, { kind: 'Pod', name: 'web-1' })].sort()).toEqual(['Pod/web-1']);
    expect([...relatedObjects(base, { kind: 'Service', name: 'ghost' })].sort()).toEqual(['Service/ghost']);
  });
});
