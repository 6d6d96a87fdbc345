// A4 perf, the acting half: one scan for the backend's capacity, a
// port-forward to the backend Service, autocannon against each endpoint in
// turn (bounded by time and by count), the tasks it created deleted again,
// the run kept in history for the next comparison.
import autocannon from 'autocannon';
import { usageError } from '../../scripts/lib/kit/errors.ts';
import { appToken } from '../../scripts/lib/app/auth.ts';
import { httpGet, probeTargets } from '../../scripts/lib/app/probe.ts';
import { portForward, type Forward } from '../../scripts/lib/kube/port-forward.ts';
import {
  endpointNames,
  endpointsFor,
  judge,
  summarize,
  type Capacity,
  type Endpoint,
  type EndpointRun,
} from './plan.ts';
import { parseQuantity } from '../../scripts/lib/kube/quantity.ts';
import { Scanner, type Snapshot } from '../../scripts/lib/kube/scan.ts';
import type { PerfContext } from './spec.ts';

/** The user the load runs as: its tasks, conversations and messages are deleted afterwards. */
export const perfUser = 'ops-perf';

export interface Load {
  port: number;
  token?: string;
  connections: number;
  durationSec: number;
  requests: number;
}

/** autocannon against one endpoint; latencies kept per answer so p95 is exact (autocannon's summary has no p95). */
export async function load(e: Endpoint, o: Load): Promise<EndpointRun> {
  const latencies: number[] = [];
  let non2xx = 0;
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'todo-chatbot-ops/perf' };
  if (e.auth && o.token) headers.authorization = `Bearer ${o.token}`;
  const connections = Math.min(o.connections, o.requests);
  const instance = autocannon({
    url: `http://127.0.0.1:${o.port}${e.path}`,
    method: e.method,
    headers,
    ...(e.body ? { body: e.body } : {}),
    connections,
    duration: o.durationSec,
    maxOverallRequests: Math.max(o.requests, connections),
    timeout: 10,
  }) as unknown as autocannon.Instance & PromiseLike<autocannon.Result>; // an EventEmitter that is also thenable
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    latencies.push(ms);
    if (status < 200 || status > 299) non2xx++;
  });
  const t0 = Date.now();
  const r = await instance;
  return summarize(e.name, e.method, e.path, latencies, { non2xx, errors: r.errors }, (Date.now() - t0) / 1000);
}

/** The backend's replicas, HPA, CPU request/limit and the busiest pod's CPU, from one scan. */
export function capacityOf(s: Snapshot): Capacity {
  const isBackend = (labels?: Record<string, string>) => labels?.['app.kubernetes.io/component'] === 'backend';
  const dep = s.deployments.find((d) => isBackend(d.metadata?.labels));
  const hpa = s.hpas.find((h) => h.spec?.scaleTargetRef.name === dep?.metadata?.name);
  const res = dep?.spec?.template.spec?.containers[0]?.resources;
  const pods = new Set(s.pods.filter((p) => isBackend(p.metadata?.labels)).map((p) => p.metadata?.name));
  const usage = (s.metrics ?? [])
    .filter((m) => pods.has(m.metadata.name))
    .map((m) => m.containers.reduce((n, c) => n + (parseQuantity(c.usage.cpu) ?? 0), 0));
  return {
    replicas: dep?.spec?.replicas ?? 0,
    readyReplicas: dep?.status?.readyReplicas ?? 0,
    ...(hpa ? { hpa: { min: hpa.spec?.minReplicas ?? 1, max: hpa.spec?.maxReplicas ?? 1 } } : {}),
    ...(res?.requests?.cpu ? { cpuRequest: parseQuantity(res.requests.cpu) } : {}),
    ...(res?.limits?.cpu ? { cpuLimit: parseQuantity(res.limits.cpu) } : {}),
    ...(usage.length ? { cpuUsage: Math.max(...usage) } : {}),
  };
}

interface Cleanup {
  tasks: number;
  conversations: number;
  messages: number;
}

/** Deletes everything the load user has: its tasks (one by one, a few at a time: cleanup is not load) and its chat history (one request). */
async function cleanup(port: number, token: string): Promise<Cleanup> {
  const base = `http://127.0.0.1:${port}/api/${perfUser}`;
  const auth = { authorization: `Bearer ${token}` };
  const res = await fetch(`${base}/tasks`, { headers: auth, signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`listing the perf user's tasks: HTTP ${res.status}`);
  const ids = ((await res.json()) as { id: number }[]).map((t) => t.id);
  let tasks = 0;
  for (let i = 0; i < ids.length; i += 8)
    tasks += (
      await Promise.all(
        ids.slice(i, i + 8).map((id) =>
          fetch(`${base}/tasks/${id}`, { method: 'DELETE', headers: auth, signal: AbortSignal.timeout(30_000) }).then(
            (r) => (r.ok ? 1 : 0),
            () => 0,
          ),
        ),
      )
    ).reduce((a: number, b: number) => a + b, 0);
  if (tasks < ids.length) throw new Error(`${ids.length - tasks} of ${ids.length} tasks were not deleted`);
  const chat = await fetch(`${base}/conversations`, {
    method: 'DELETE',
    headers: auth,
    signal: AbortSignal.timeout(30_000),
  });
  if (!chat.ok) throw new Error(`deleting the perf user's conversations: HTTP ${chat.status}`);
  return { tasks, ...((await chat.json()) as Omit<Cleanup, 'tasks'>) };
}

export async function runPerf(ctx: PerfContext): Promise<void> {
  const o = ctx.opts;
  const maxRequests = ctx.cfg.TODO_PERF_MAX_REQUESTS;
  if (o.requests > maxRequests)
    throw usageError(`--requests ${o.requests} is above TODO_PERF_MAX_REQUESTS (${maxRequests})`);
  // Reads before writes: create last, so the lists are not longer for the run's own tasks.
  const endpoints = endpointsFor(
    endpointNames.filter((n) => o.endpoints.includes(n)),
    perfUser,
  );
  const kube = await ctx.kube();
  const scanner = new Scanner(kube);
  const before = await scanner.snapshot(ctx.namespace, ctx.release);
  if (!before.deployments.length)
    throw usageError(
      `release ${ctx.release} has no workloads in namespace ${ctx.namespace}`,
      'npx zx scripts/deploy.ts',
    );
  const target = probeTargets(before.services, ctx.release).find((t) => t.component === 'backend')!;
  const slo = {
    p95Ms: ctx.cfg.TODO_PERF_SLO_P95_MS,
    p99Ms: ctx.cfg.TODO_PERF_SLO_P99_MS,
    errorRate: ctx.cfg.TODO_PERF_SLO_ERRORS,
  };

  let fwd: Forward | undefined;
  let unreachable: string | undefined;
  try {
    fwd = await portForward(kube, {
      namespace: ctx.namespace,
      service: target.service,
      port: target.port,
      onError: (e) => ctx.out.debug(`port-forward: ${e.message}`),
    });
  } catch (e) {
    unreachable = (e as Error).message.split('\n')[0];
  }
  const runs: EndpointRun[] = [];
  try {
    if (fwd) {
      // One answer before the clock starts: the forward's first connection costs more than the app.
      const first = await httpGet(fwd.port, '/healthz', 10_000);
      if (first.error) unreachable = `${target.service}: ${first.error}`;
    }
    if (!fwd || unreachable) {
      for (const e of endpoints) runs.push(summarize(e.name, e.method, e.path, [], { non2xx: 0, errors: 0 }, 0));
      ctx.result.finding({
        name: 'backend reachable',
        level: 'fail',
        required: true,
        detail: `no port-forward to ${target.service}: ${unreachable}`,
        object: { kind: 'Service', name: target.service, namespace: ctx.namespace },
      });
    } else {
      const backend = before.deployments.find((d) => d.metadata?.labels?.['app.kubernetes.io/component'] === 'backend');
      const token = endpoints.some((e) => e.auth)
        ? await appToken(kube, ctx.namespace, ctx.release, perfUser, 900, backend)
        : undefined;
      for (const e of endpoints)
        runs.push(
          await ctx.out.progress(
            `loading ${e.method} ${e.path} (${o.connections} connections, up to ${o.duration}s or ${o.requests} requests)`,
            () =>
              load(e, {
                port: fwd!.port,
                token,
                connections: o.connections,
                durationSec: o.duration,
                requests: o.requests,
              }),
          ),
        );
      if (token) {
        // A run that leaves data behind did not finish its job: a failed cleanup fails the run.
        const deleted = await cleanup(fwd.port, token).catch((err: Error) => {
          ctx.result.finding({
            name: 'cleanup',
            level: 'fail',
            required: true,
            detail: `what the perf user created was not all deleted: ${err.message}`,
            hint: `it belongs to user ${perfUser}: run perf again to retry the cleanup`,
          });
          return undefined;
        });
        if (deleted !== undefined)
          ctx.result.data.cleanup = {
            user: perfUser,
            deletedTasks: deleted.tasks,
            deletedConversations: deleted.conversations,
            deletedMessages: deleted.messages,
          };
      }
    }
  } finally {
    await fwd?.close();
  }

  // The usage the load left behind, for the suggestion (the metrics API's window trails by seconds: a hint, not a measure).
  const after = await scanner.snapshot(ctx.namespace, ctx.release).catch(() => before);
  const capacity = capacityOf(after);
  const state = await ctx.state();
  const previous = state.history<{ runs: EndpointRun[]; ok: boolean }>('perf', { limit: 1 })[0];
  const verdict = judge(runs, slo, previous?.runs, capacity, { maxReplicas: ctx.cfg.TODO_SCALE_MAX });
  for (const f of verdict.findings)
    ctx.result.finding({ ...f, object: { kind: 'Service', name: target.service, namespace: ctx.namespace } });
  for (const s of verdict.suggestions)
    ctx.result.finding({ name: 'suggestion', level: 'info', required: false, detail: s });
  state.append('perf', { ok: verdict.missed.length === 0, runs, slo, pod: fwd?.pod ?? null });
  ctx.result.data = {
    ...ctx.result.data,
    slo,
    runs,
    capacity,
    missed: verdict.missed,
    suggestions: verdict.suggestions,
    via: fwd ? { service: target.service, pod: fwd.pod } : null,
    ...(previous ? { previous: { at: previous.at, runs: previous.runs } } : {}),
  };
}
