// debug against the real control plane: every failure class kwok can produce
// for real, made once in one namespace, then diagnosed by the script run as a
// process. kwok plays the kubelet: the bed's crash-loop stage and kwok's chaos
// stage fail containers; the scheduler, the PV binder, the HPA and deployment
// controllers report their own failures; a kubelet stand-in
// (test/fixtures/kwok-kubelet.ts) serves the crash-looping pod's logs, so the
// previous container's last line is quoted for real.
// The classes only a real kubelet produces (a real image pull error, OOMKilled,
// failing probe, CreateContainerConfigError) are in real-node-failures.test.ts.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CoreV1Event, V1Deployment, V1Pod, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandin, type Standin } from '../fixtures/kwok-kubelet.ts';
import { bedEnv, deleteNamespace, fixture, kube, sh, tempNamespace } from '../helpers/cluster.ts';
import { assertFailure, assertSuccess, repoRoot, run, scratchEnv, type RunResult } from '../helpers/run.ts';

interface F {
  name: string;
  level: string;
  detail: string;
  hint?: string;
  object?: { kind: string; name: string };
  evidence?: Record<string, any>;
}
interface Doc {
  exitCode: number;
  findings: F[];
  data: { requests: number; logsRead: number; target?: string; bundle?: { path: string; files: number } };
}

// Values planted to prove the bundle never carries them, in any file, in any encoding.
const planted = {
  secretData: 'pl4nted-db-password-7731',
  helmValue: 'pl4nted-helm-token-5529',
  plainEnv: 'pl4nted-env-apikey-9044',
};
const crashLines = [
  'starting todo-backend 1.4.2',
  `connecting with password ${planted.secretData}`,
  'FATAL: role "todo" does not exist',
];

const deployment = (
  ns: string,
  name: string,
  o: { replicas?: number; cpu?: string; progressDeadlineSeconds?: number; labels?: Record<string, string> } = {},
): V1Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns },
  spec: {
    replicas: o.replicas ?? 1,
    ...(o.progressDeadlineSeconds ? { progressDeadlineSeconds: o.progressDeadlineSeconds } : {}),
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name, ...o.labels } },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'registry.example/app:1.0',
            ...(o.cpu ? { resources: { requests: { cpu: o.cpu } } } : {}),
          },
        ],
      },
    },
  },
});

describe('debug on the test bed', () => {
  let ns: string;
  let env: NodeJS.ProcessEnv;
  let standin: Standin;
  let doc: Doc;
  const k = kube();
  const debug = (...args: string[]) => run('scripts/debug.ts', ['--profile', 'testbed', '-n', ns, ...args], { env });
  const find = (name: string, obj?: string) =>
    doc.findings.filter((f) => f.name === name && (!obj || f.object?.name === obj || f.object?.name.startsWith(obj)));

  beforeAll(async () => {
    ns = await tempNamespace('debug');
    env = { ...bedEnv(), ...scratchEnv(), TODO_RELEASE: 'tiny' };
    standin = await startStandin(k, {
      namespace: ns,
      logs: { crashy: { container: 'app', current: ['starting todo-backend 1.4.2'], previous: crashLines } },
    });
    const values = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-debug-')), 'values.json');
    fs.writeFileSync(values, JSON.stringify({ greeting: 'hi', secrets: { apiToken: planted.helmValue } }));
    await Promise.all([
      // A healthy release (helm values and history for the bundle).
      sh()`helm install tiny ${fixture('tiny-chart')} -n ${ns} -f ${values} --wait --timeout 120s`,
      // Crash loop with exit code 3 on the stand-in node: its previous container's log is served.
      k.apply(standin.pod('crashy', {}, { 'todo-ops.test/crashloop': 'true' })).then(() =>
        k.mergePatch({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: 'crashy',
            namespace: ns,
            annotations: { 'todo-ops.test/exit-code': '3', 'todo-ops.test/crashloop-delay-ms': '300' },
          },
        }),
      ),
      // A Job whose pod fails (kwok's chaos stage), restartPolicy Never, no retry.
      k.apply({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'migrate', namespace: ns },
        spec: {
          backoffLimit: 0,
          template: {
            metadata: {
              labels: { 'pod-container-running-failed.stage.kwok.x-k8s.io': 'true' },
              annotations: {
                'pod-container-running-failed.stage.kwok.x-k8s.io/exit-code': '2',
                'pod-container-running-failed.stage.kwok.x-k8s.io/reason': 'Error',
                'pod-container-running-failed.stage.kwok.x-k8s.io/delay': '0',
              },
            },
            spec: { restartPolicy: 'Never', containers: [{ name: 'migrate', image: 'registry.example/app:1.0' }] },
          },
        },
      }),
      // No node has 5000 CPUs: unschedulable, and the rollout passes its 2 s deadline.
      k.apply(deployment(ns, 'huge', { cpu: '5000', progressDeadlineSeconds: 2 })),
      // A Service with a mistyped selector next to the pods it meant.
      k.apply(deployment(ns, 'api', { replicas: 2, cpu: '10m' })),
      k.apply({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'api', namespace: ns },
        spec: { selector: { app: 'apii' }, ports: [{ name: 'http', port: 80, targetPort: 8000 as never }] },
      }),
      // An Ingress to a Service that does not exist.
      k.apply({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'web', namespace: ns },
        spec: {
          rules: [
            {
              host: 'todo.local',
              http: {
                paths: [
                  {
                    path: '/',
                    pathType: 'Prefix',
                    backend: { service: { name: 'frontendd', port: { number: 3000 } } },
                  },
                ],
              },
            },
          ],
        },
      }),
      // An HPA on a Deployment without CPU requests: the HPA controller cannot compute utilization.
      k.apply(deployment(ns, 'norequests')),
      k.apply({
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'norequests', namespace: ns },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'norequests' },
          minReplicas: 1,
          maxReplicas: 3,
          metrics: [
            { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
          ],
        },
      }),
      // A claim on a storage class that does not exist: Pending, the PV controller says why.
      k.apply({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data', namespace: ns },
        spec: {
          storageClassName: 'no-such-class',
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Gi' } },
        },
      }),
      // A Secret missing the key a pod refers to (kwok runs the pod anyway; the spec says it cannot start), and a plain env value that is a secret.
      k.apply({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'app-secrets', namespace: ns },
        type: 'Opaque',
        stringData: { DB_PASSWORD: planted.secretData },
      }),
      k.apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'needs-key', namespace: ns },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'registry.example/app:1.0',
              env: [
                { name: 'API_KEY', value: planted.plainEnv },
                { name: 'OPENAI_API_KEY', valueFrom: { secretKeyRef: { name: 'app-secrets', key: 'OPENAI_API_KEY' } } },
              ],
            },
          ],
        },
      }),
    ]);
    // Wait for the conditions the controllers report, never a fixed sleep.
    await Promise.all([
      k.waitFor<V1Pod>({
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: ns,
        fieldSelector: 'metadata.name=crashy',
        timeoutSec: 60,
        done: (ps) => (ps[0]?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
      }),
      k.waitFor<V1Pod>({
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: ns,
        labelSelector: 'job-name=migrate',
        timeoutSec: 60,
        done: (ps) => ps.some((p) => p.status?.phase === 'Failed'),
      }),
      k.waitFor<V1Deployment>({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: ns,
        fieldSelector: 'metadata.name=huge',
        timeoutSec: 90,
        done: (ds) => ds[0]?.status?.conditions?.some((c) => c.reason === 'ProgressDeadlineExceeded') === true,
      }),
      k.waitFor<V2HorizontalPodAutoscaler>({
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        namespace: ns,
        timeoutSec: 120,
        done: (hs) =>
          hs[0]?.status?.conditions?.some(
            (c) =>
              c.type === 'ScalingActive' && c.status === 'False' && /missing request for cpu/.test(c.message ?? ''),
          ) === true,
      }),
      k.waitFor<CoreV1Event>({
        apiVersion: 'v1',
        kind: 'Event',
        namespace: ns,
        fieldSelector: 'involvedObject.name=data',
        timeoutSec: 90,
        done: (es) => es.some((e) => e.reason === 'ProvisioningFailed'),
      }),
      k.waitFor<V1Pod>({
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: ns,
        labelSelector: 'app=api',
        timeoutSec: 60,
        done: (ps) => ps.length === 2 && ps.every((p) => p.status?.phase === 'Running'),
      }),
    ]);
    const t0 = Date.now();
    const r = await debug('-o', 'json');
    assertFailure(r, 1);
    doc = r.json<Doc>();
    process.stderr.write(
      `[debug] ${doc.findings.length} findings, ${doc.data.requests} API requests, ${(doc as unknown as { durationMs: number }).durationMs} ms in the script, ${Date.now() - t0} ms for the whole process\n`,
    );
  });
  afterAll(async () => {
    await standin?.stop();
    if (ns) await deleteNamespace(ns);
  });

  it("a crash loop: the exit code, the last termination reason and the previous container's last log line, quoted", () => {
    const [f] = find('crash loop', 'crashy');
    expect(f, JSON.stringify(doc.findings, null, 2)).toBeDefined();
    expect(f!.evidence).toMatchObject({
      reason: 'CrashLoopBackOff',
      lastReason: 'Error',
      exitCode: 3,
      logPrevious: true,
    });
    expect(f!.evidence!.logLines.at(-1)).toBe('FATAL: role "todo" does not exist');
    expect(f!.detail).toMatch(
      /^crashy: container app is crash-looping: last exit code 3 \(Error\), \d+ restarts; the previous container last printed: .*"FATAL: role \\"todo\\" does not exist"$/,
    );
    // The password the app printed is a Secret's value: scrubbed from the output.
    expect(f!.evidence!.logLines[1]).toBe('connecting with password ***');
    expect(f!.hint).toBe(`kubectl -n ${ns} logs crashy -c app --previous`);
  });

  it('a Job pod that failed with restartPolicy Never: its exit code, not retried', () => {
    const [f] = find('pod failed', 'migrate-');
    expect(f, JSON.stringify(doc.findings, null, 2)).toBeDefined();
    expect(f!.evidence).toMatchObject({
      reason: 'Error',
      exitCode: 2,
      restartPolicy: 'Never',
      owner: 'job/migrate',
      container: 'migrate',
    });
    expect(f!.detail).toMatch(
      /^migrate-\w+ \(job\/migrate\): Error, exit code 2, restartPolicy Never: it will not be retried/,
    );
  });

  it("an unschedulable pod with the scheduler's message, and its rollout stuck past the deadline", () => {
    const [u] = find('unschedulable', 'huge-');
    expect(u!.detail).toMatch(
      /^huge-[a-z0-9]+-[a-z0-9]+: the scheduler says: 0\/\d+ nodes are available: .*Insufficient cpu.* \(requests cpu 5000\)$/,
    );
    const [r] = find('rollout stuck', 'huge');
    expect(r!.detail).toMatch(
      /^deployment\/huge: progress deadline exceeded \(ReplicaSet "huge-[a-z0-9]+" has timed out progressing\.\); 1\/1 updated, 0 available; pod huge-\S+: Unschedulable$/,
    );
  });

  it('a Service with a mistyped selector: the selector, and the labels the pods have instead', () => {
    const [f] = find('service selects no pods', 'api');
    expect(f!.detail).toMatch(
      /^service\/api selects app=apii: no pod has these labels; closest: pod api-[a-z0-9]+-[a-z0-9]+ has app=api$/,
    );
    expect(f!.evidence!.selector).toEqual({ app: 'apii' });
  });

  it('an Ingress to a missing Service', () => {
    const [f] = find('ingress to a missing service', 'web');
    expect(f!.detail).toMatch(
      /^ingress\/web: todo\.local\/ goes to service frontendd, which does not exist \(services: /,
    );
  });

  it("an HPA without metrics: the controller's reason and the missing request", () => {
    const [f] = find('HPA without metrics', 'norequests');
    expect(f!.evidence, JSON.stringify(f)).toMatchObject({
      reason: 'FailedGetResourceMetric',
      target: 'Deployment/norequests',
      missingRequest: 'cpu',
    });
    expect(f!.hint).toBe('set resources.requests.cpu on every container of deployment/norequests');
  });

  it("a pending claim with the provisioner's reason", () => {
    const [f] = find('volume claim pending', 'data');
    expect(f!.detail).toBe(
      'pvc/data: Pending (storage class no-such-class, 1Gi): ProvisioningFailed: storageclass.storage.k8s.io "no-such-class" not found',
    );
  });

  it('a missing Secret key a pod refers to', () => {
    const [f] = find('missing config', 'needs-key');
    expect(f!.evidence!.missing).toEqual([
      { container: 'app', kind: 'Secret', name: 'app-secrets', key: 'OPENAI_API_KEY', via: 'env OPENAI_API_KEY' },
    ]);
  });

  it('healthy pods are not reported; one List per kind and logs of failing containers only', () => {
    expect(doc.findings.filter((f) => /^(api|tiny-web|norequests)-/.test(f.object?.name ?? ''))).toEqual([]);
    expect(doc.data.logsRead).toBe(2); // crashy (previous) and the Job pod; none of the healthy ones
    expect(doc.data.requests).toBe(1 + 12 + 2); // namespace check + 11 Lists + metrics + 2 logs
  });

  it('--logs bounds the log reads: the rest are counted, not read', async () => {
    const r = await debug('--logs', '1', '-o', 'json');
    assertFailure(r, 1);
    const d = r.json<Doc & { data: { logsSkipped?: number } }>();
    expect(d.data).toMatchObject({ logsRead: 1, logsSkipped: 1, requests: 1 + 12 + 1 });
    // Failing containers by severity, then name: the crash loop (crashy) before the Job pod (migrate-…).
    expect(d.findings.find((f) => f.name === 'crash loop')!.evidence!.logLines.at(-1)).toBe(
      'FATAL: role "todo" does not exist',
    );
  });

  it('narrowed to one pod: only its problem, with the log lines shown', async () => {
    const r = await debug('crashy');
    assertFailure(r, 1);
    expect(r.stdout).toMatch(/^pod\/crashy: 1 problem found$/m);
    expect(r.stdout).toContain('    | FATAL: role "todo" does not exist');
    expect(r.stdout).not.toContain(planted.secretData);
    expect(r.stdout).toContain(`  next: kubectl -n ${ns} logs crashy -c app --previous`);
  });

  it('narrowed to a deployment: its pods and its rollout; a healthy one exits 0', async () => {
    const r = await debug('huge', '-o', 'json');
    assertFailure(r, 1);
    expect(
      r
        .json<Doc>()
        .findings.map((f) => f.name)
        .sort(),
    ).toEqual(['rollout stuck', 'unschedulable']);
    const ok = await debug('deployment/tiny-web');
    assertSuccess(ok);
    expect(ok.stdout).toMatch(/^deployment\/tiny-web: nothing wrong$/m);
  });

  it("--bundle: objects, events, failing containers' logs (previous too), helm values and history; no secret value anywhere", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-bundle-'));
    const file = path.join(dir, 'support.tar.gz');
    const r = await debug('--bundle', file);
    assertFailure(r, 1);
    expect(r.stdout).toContain(`support bundle: ${file} (`);
    execFileSync('tar', ['-xzf', file], { cwd: dir });
    const [root] = fs.readdirSync(dir).filter((d) => d.startsWith('debug-'));
    const files = (fs.readdirSync(path.join(dir, root!), { recursive: true }) as string[])
      .filter((f) => fs.statSync(path.join(dir, root!, f)).isFile())
      .sort();
    for (const want of [
      'README.txt',
      'findings.json',
      'events.yaml',
      'objects/Pod.yaml',
      'objects/Deployment.yaml',
      'objects/Service.yaml',
      'objects/Secret.yaml',
      'objects/Job.yaml',
      'objects/Ingress.yaml',
      'objects/HorizontalPodAutoscaler.yaml',
      'objects/PersistentVolumeClaim.yaml',
      'helm/values.yaml',
      'helm/history.json',
      'logs/crashy/app.previous.log',
      'logs/crashy/app.log',
    ])
      expect(files, files.join('\n')).toContain(want);
    const read = (f: string) => fs.readFileSync(path.join(dir, root!, f), 'utf8');
    expect(read('logs/crashy/app.previous.log')).toBe(
      'starting todo-backend 1.4.2\nconnecting with password ***\nFATAL: role "todo" does not exist\n',
    );
    expect(read('objects/Secret.yaml')).toMatch(/name: app-secrets[\s\S]*DB_PASSWORD: "<redacted: 24 bytes>"/);
    expect(read('helm/values.yaml')).toMatch(/apiToken: <redacted>/);
    expect(JSON.parse(read('helm/history.json'))[0]).toMatchObject({ revision: 1, status: 'deployed' });
    expect(read('events.yaml')).toContain('ProvisioningFailed');
    expect(read('objects/Pod.yaml')).toMatch(/creationTimestamp: "?\d{4}-\d\d-\d\dT/);
    // No planted value, in any file, plain, base64 or URL-encoded.
    const forms = Object.values(planted).flatMap((v) => [
      v,
      Buffer.from(v).toString('base64'),
      Buffer.from(v).toString('base64').replace(/=+$/, ''),
      encodeURIComponent(v),
    ]);
    for (const f of files) for (const form of forms) expect(read(f).includes(form), `${form} in ${f}`).toBe(false);
  });

  it("a failing readiness probe (the kubelet's report written by hand: kwok runs no probe): the path and the answer", async () => {
    await k.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'unready', namespace: ns },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'registry.example/app:1.0',
            readinessProbe: { httpGet: { path: '/readyz', port: 8000 as never } },
          },
        ],
      },
    });
    const [pod] = await k.waitFor<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: ns,
      fieldSelector: 'metadata.name=unready',
      timeoutSec: 60,
      done: (ps) => ps[0]?.status?.phase === 'Running',
    });
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const status = {
      status: {
        conditions: [
          { type: 'Ready', status: 'False', reason: 'ContainersNotReady', lastTransitionTime: now },
          { type: 'ContainersReady', status: 'False', lastTransitionTime: now },
          { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
        ],
        containerStatuses: [
          {
            name: 'app',
            image: 'registry.example/app:1.0',
            imageID: '',
            ready: false,
            started: true,
            restartCount: 0,
            state: { running: { startedAt: now } },
          },
        ],
      },
    };
    await sh()`kubectl patch pod unready -n ${ns} --subresource=status --type=merge -p ${JSON.stringify(status)}`;
    await k.apply({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'unready.probe', namespace: ns },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Pod',
        name: 'unready',
        namespace: ns,
        uid: pod!.metadata!.uid,
        fieldPath: 'spec.containers{app}',
      },
      reason: 'Unhealthy',
      type: 'Warning',
      message: 'Readiness probe failed: HTTP probe failed with statuscode: 503',
      count: 4,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: 'kubelet' },
    });
    const r = await debug('unready', '-o', 'json');
    assertFailure(r, 1);
    const [f] = r.json<Doc>().findings;
    expect(f).toMatchObject({
      name: 'probe failing',
      evidence: {
        probe: 'readiness',
        path: '/readyz',
        port: 8000,
        answer: 'HTTP probe failed with statuscode: 503',
        count: 4,
      },
    });
    expect(f!.detail).toBe(
      'unready: readiness probe GET :8000/readyz of container app fails: HTTP probe failed with statuscode: 503 (4 times)',
    );
  });

  it('a user who may not list Secrets (RBAC): the run goes on, Secret references are not called missing, and it says so', async () => {
    await k.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'viewer', namespace: ns } });
    await k.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'viewer', namespace: ns },
      rules: [
        {
          apiGroups: [''],
          resources: ['pods', 'pods/log', 'services', 'persistentvolumeclaims', 'configmaps', 'events', 'namespaces'],
          verbs: ['get', 'list'],
        },
        { apiGroups: ['apps'], resources: ['deployments', 'statefulsets'], verbs: ['get', 'list'] },
        { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list'] },
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['get', 'list'] },
        { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['get', 'list'] },
      ],
    });
    await k.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'viewer', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'viewer' },
      subjects: [{ kind: 'ServiceAccount', name: 'viewer', namespace: ns }],
    });
    const token = (await sh()`kubectl create token viewer -n ${ns} --duration 10m`).stdout.trim();
    const bed = k.kc.getCurrentCluster()!;
    const kubeconfig = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-viewer-')), 'kubeconfig');
    fs.writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'viewer',
        clusters: [
          {
            name: 'bed',
            cluster: {
              server: bed.server,
              ...(bed.caData
                ? { 'certificate-authority-data': bed.caData }
                : bed.caFile
                  ? { 'certificate-authority': bed.caFile }
                  : { 'insecure-skip-tls-verify': true }),
            },
          },
        ],
        users: [{ name: 'viewer', user: { token } }],
        contexts: [{ name: 'viewer', context: { cluster: 'bed', user: 'viewer', namespace: ns } }],
      }),
      { mode: 0o600 },
    );
    const r = await run('scripts/debug.ts', ['--profile', 'testbed', '-n', ns, '-o', 'json'], {
      env: { ...env, KUBECONFIG: kubeconfig },
    });
    assertFailure(r, 1);
    const d = r.json<Doc>();
    expect(d.findings.find((f) => f.name === 'crash loop')?.evidence?.exitCode).toBe(3);
    expect(d.findings.filter((f) => f.name === 'missing config')).toEqual([]);
    expect(d.findings.find((f) => f.name === 'not readable')).toMatchObject({
      level: 'info',
      detail: `you may not list Secrets in ${ns}: references to them are not checked, and their values cannot be scrubbed from quoted logs`,
    });
  });

  it('bad inputs: one line, the documented code', async () => {
    const cases: [string[], NodeJS.ProcessEnv, number, RegExp][] = [
      [
        ['nope'],
        {},
        2,
        new RegExp(
          `^debug: no pod, deployment, statefulset, job, service, hpa or volume claim named "nope" in namespace ${ns}$`,
        ),
      ],
      [['--since', 'abc'], {}, 2, /^debug: --since must be like 90, 90s, 5m, 1h or 2d, got "abc"$/],
      [['-n', 'no-such-namespace'], {}, 2, /^debug: namespace "no-such-namespace" does not exist$/],
      [
        [],
        { KUBECONFIG: path.join(repoRoot, 'test/fixtures/kubeconfig-offline.yaml') },
        3,
        /^debug: cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/,
      ],
    ];
    for (const [args, extra, code, first] of cases) {
      const r: RunResult = await run(
        'scripts/debug.ts',
        ['--profile', 'testbed', ...(args.includes('-n') ? [] : ['-n', ns]), ...args],
        { env: { ...env, ...extra } },
      );
      assertFailure(r, code);
      expect(r.stderr.split('\n')[0]).toMatch(first);
      expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2); // the message and at most a hint
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
