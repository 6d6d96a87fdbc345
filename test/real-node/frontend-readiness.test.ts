// The frontend's probes on the bed's real node (real-0): the chart with the repo's
// images, real kubelet probes and a real Service. With its backend gone (scaled to
// 0), the frontend pod must leave the Service's endpoints (readiness: /api/ready)
// while its process keeps running (liveness: /api/health, no restart), and come
// back when the backend does. Its own namespace and release.
import path from 'node:path';
import type { V1Endpoints, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { $ } from 'zx';
import { recycleVolumes, realNodeName } from '../../scripts/lib/local-cluster/cluster.ts';
import { insideExec } from '../../scripts/lib/local-cluster/node.ts';
import { bedEnv, kube, sh, tempNamespace } from '../helpers/cluster.ts';
import { repoRoot } from '../helpers/run.ts';

const chartDir = path.join(repoRoot, 'charts/todo-chatbot');
const bedValues = path.join(repoRoot, 'scripts/lib/local-cluster/values-realnode.yaml');
const release = 'fr';
const frontendSelector = `app.kubernetes.io/instance=${release},app.kubernetes.io/component=frontend`;
const backendSelector = `app.kubernetes.io/instance=${release},app.kubernetes.io/component=backend`;

const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const restarts = (p: V1Pod) => p.status?.containerStatuses?.find((c) => c.name === 'frontend')?.restartCount ?? -1;
const live = (ps: readonly V1Pod[]) => ps.filter((p) => !p.metadata?.deletionTimestamp);

describe('frontend readiness follows its backend, liveness does not', () => {
  let ns = '';
  const k = kube();
  const frontendPods = async () => live(await k.list<V1Pod>('v1', 'Pod', ns, frontendSelector));
  /** Ready and not-ready addresses of the frontend Service, once `done` holds for them. */
  const untilEndpoints = async (what: string, done: (ready: string[], notReady: string[]) => boolean) => {
    const ips = (e: V1Endpoints | undefined, key: 'addresses' | 'notReadyAddresses') =>
      (e?.subsets ?? []).flatMap((s) => (s[key] ?? []).map((a) => a.ip));
    const [e] = await k.waitFor<V1Endpoints>({
      apiVersion: 'v1',
      kind: 'Endpoints',
      namespace: ns,
      fieldSelector: `metadata.name=${release}-frontend`,
      timeoutSec: 90,
      done: ([x]) => done(ips(x, 'addresses'), ips(x, 'notReadyAddresses')),
      describe: ([x]) =>
        `${what}; ready ${ips(x, 'addresses').join(',') || '-'}, not ready ${ips(x, 'notReadyAddresses').join(',') || '-'}`,
    });
    return { ready: ips(e, 'addresses'), notReady: ips(e, 'notReadyAddresses') };
  };
  /** The kubelet's own count of this pod's probe results (through the API server's node proxy). */
  const probeCount = async (pod: V1Pod, probe: 'Liveness' | 'Readiness', result: 'successful' | 'failed') => {
    const metrics = (await sh()`kubectl get --raw /api/v1/nodes/${realNodeName}/proxy/metrics/probes`).stdout;
    const line = metrics
      .split('\n')
      .find(
        (l) =>
          l.startsWith('prober_probe_total{') &&
          l.includes(`container="frontend"`) &&
          l.includes(`pod_uid="${pod.metadata!.uid}"`) &&
          l.includes(`probe_type="${probe}"`) &&
          l.includes(`result="${result}"`),
      );
    return line ? Number(line.split(' ').pop()) : 0;
  };
  /** GET from inside the bed (where pod IPs route): status and body. */
  const get = async (url: string) => {
    const out = (await insideExec(['curl', '-sS', '-m', '10', '-w', '\n%{http_code}', url], { timeout: '30s' })).stdout;
    const i = out.lastIndexOf('\n');
    return { status: Number(out.slice(i + 1)), body: out.slice(0, i) };
  };

  beforeAll(async () => {
    ns = await tempNamespace('fe-ready');
    await sh()`helm install ${release} ${chartDir} -n ${ns} -f ${bedValues} --wait --timeout 5m`;
  }, 360_000);

  afterAll(async () => {
    if (!ns) return;
    await $({ env: bedEnv(), quiet: true, nothrow: true })`helm uninstall ${release} -n ${ns} --wait --timeout 120s`;
    await $({ env: bedEnv(), quiet: true, nothrow: true })`kubectl delete namespace ${ns} --wait=true --timeout=180s`;
    await recycleVolumes(); // the PostgreSQL volume, Released now
  }, 300_000);

  it('with the backend scaled to 0 the frontend leaves the Service without a restart, and returns with the backend', async () => {
    const [pod] = await frontendPods();
    expect(pod && ready(pod), 'the frontend starts Ready').toBe(true);
    const ip = pod!.status!.podIP!;
    const uid = pod!.metadata!.uid!;
    const restartsBefore = restarts(pod!);
    expect((await untilEndpoints('the pod in the Service', (r) => r.includes(ip))).ready).toContain(ip);
    expect(await get(`http://${ip}:3000/api/ready`)).toEqual({ status: 200, body: '{"status":"ready"}' });

    // The backend goes away: its Service has no endpoint left.
    const t0 = Date.now();
    await sh()`kubectl scale deployment ${release}-backend -n ${ns} --replicas=0`;
    await k.waitFor<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: ns,
      labelSelector: backendSelector,
      timeoutSec: 120,
      done: (ps) => ps.length === 0,
    });
    const out = await untilEndpoints('the pod out of the Service', (r, nr) => !r.includes(ip) && nr.includes(ip));
    const outAfter = (Date.now() - t0) / 1000;
    expect(out.ready).not.toContain(ip);
    const [down] = await frontendPods();
    expect(ready(down!)).toBe(false);
    // Its answers say why: not ready (backend unreachable), yet alive.
    const answer = await get(`http://${ip}:3000/api/ready`);
    expect(answer.status).toBe(503);
    // Refused or dropped, depending on how kube-proxy treats a Service without endpoints.
    expect(JSON.parse(answer.body)).toEqual({
      status: 'unavailable',
      detail: expect.stringMatching(/^backend (unreachable|did not answer within 2000 ms)$/),
    });
    expect((await get(`http://${ip}:3000/api/health`)).status).toBe(200);

    // Liveness keeps passing while readiness fails: three more successful liveness probes (30 s
    // at the chart's period), none failed, the pod still out of the Service, never restarted.
    const liveOk = await probeCount(down!, 'Liveness', 'successful');
    const liveFailed = await probeCount(down!, 'Liveness', 'failed');
    const readyFailed = await probeCount(down!, 'Readiness', 'failed');
    expect(readyFailed).toBeGreaterThan(0);
    // The kubelet's counters cannot be watched: asked once a second, bounded (the period is 10 s).
    const deadline = Date.now() + 90_000;
    while ((await probeCount(down!, 'Liveness', 'successful')) < liveOk + 3) {
      expect(Date.now() < deadline, 'three more liveness probes within 90 s').toBe(true);
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(await probeCount(down!, 'Liveness', 'successful')).toBeGreaterThanOrEqual(liveOk + 3);
    expect(await probeCount(down!, 'Liveness', 'failed')).toBe(liveFailed);
    const [still] = await frontendPods();
    expect(still!.metadata!.uid).toBe(uid);
    expect(ready(still!)).toBe(false);
    expect(restarts(still!)).toBe(restartsBefore);

    // The backend returns: the frontend is Ready again, the same pod, still not restarted.
    const t1 = Date.now();
    await sh()`kubectl scale deployment ${release}-backend -n ${ns} --replicas=1`;
    await untilEndpoints('the pod back in the Service', (r) => r.includes(ip));
    const backAfter = (Date.now() - t1) / 1000;
    const [back] = await frontendPods();
    expect(back!.metadata!.uid).toBe(uid);
    expect(ready(back!)).toBe(true);
    expect(restarts(back!)).toBe(restartsBefore);
    expect(await get(`http://${ip}:3000/api/ready`)).toEqual({ status: 200, body: '{"status":"ready"}' });
    process.stdout.write(
      `[frontend readiness] out of the Service ${outAfter.toFixed(1)} s after the backend scale-down, back ${backAfter.toFixed(1)} s after its scale-up; restarts ${restartsBefore} -> ${restarts(back!)}\n`,
    );
  }, 420_000);
});
