// ops/perf.ts against the real backend on the bed's real node: autocannon
// through a port-forward to the backend Service, every endpoint answered with
// real percentiles; the run's own tasks deleted again; the next run compared
// with it; a missed SLO and a backend scaled to zero are exit 1 with the
// change that would help.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedEnv, deleteNamespace, kube, sh } from '../helpers/cluster.ts';
import { makeEnvDir } from '../helpers/env-dir.ts';
import { assertFailure, assertSuccess, repoRoot, run, scratchEnv, type RunResult } from '../helpers/run.ts';

const bedValues = path.join(repoRoot, 'scripts/lib/local-cluster/values-realnode.yaml');

interface Run {
  name: string;
  requests: number;
  errors: number;
  non2xx: number;
  p50: number;
  p95: number;
  p99: number;
  rps: number;
}
interface Doc {
  exitCode: number;
  findings: { name: string; level: string; detail: string; required?: boolean }[];
  data: {
    runs: Run[];
    via: { service: string; pod: string } | null;
    cleanup?: { user: string; deletedTasks: number; deletedConversations: number; deletedMessages: number };
    suggestions: string[];
    missed: string[];
  };
}

describe('ops/perf.ts on the real node', () => {
  const release = 'perf';
  const ns = `real-perf-${process.pid}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-perf-'));
  let env: NodeJS.ProcessEnv;
  const perf = (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<RunResult> =>
    run('ops/perf.ts', args, { env: { ...env, ...extra }, timeoutMs: 120_000 });

  beforeAll(async () => {
    // One backend, no HPA: the port-forward and the scale-to-zero case are about that one pod.
    const envDir = makeEnvDir(tmp, {
      values: 'backend:\n  autoscaling:\n    enabled: false\nfrontend:\n  autoscaling:\n    enabled: false\n',
    });
    env = {
      ...bedEnv(),
      ...scratchEnv({ TODO_ENV_DIR: envDir, TODO_NAMESPACE: ns, TODO_RELEASE: release, TODO_TIMEOUT: '150' }),
    };
    assertSuccess(await run('scripts/deploy.ts', ['-f', bedValues, '-o', 'json'], { env, timeoutMs: 300_000 }));
  }, 320_000);
  afterAll(async () => {
    await deleteNamespace(ns);
  });

  it('a healthy release: every endpoint answered, zero errors, ordered percentiles, exit 0; the tasks it created are deleted', async () => {
    const r = await perf(['--duration', '3s', '--requests', '150', '--connections', '4', '-o', 'json']);
    assertSuccess(r);
    const doc = r.json<Doc>();
    expect(doc.data.runs.map((x) => x.name)).toEqual(['health', 'tasks', 'chat', 'create']);
    for (const x of doc.data.runs) {
      expect(x.requests, x.name).toBeGreaterThan(0);
      expect(x.requests, x.name).toBeLessThanOrEqual(150);
      expect([x.errors, x.non2xx], x.name).toEqual([0, 0]);
      expect(x.p50).toBeGreaterThan(0);
      expect(x.p50).toBeLessThanOrEqual(x.p95);
      expect(x.p95).toBeLessThanOrEqual(x.p99);
    }
    expect(doc.data.via!.pod).toMatch(new RegExp(`^${release}-backend-`));
    expect(doc.findings.filter((f) => f.name.startsWith('perf ')).map((f) => f.level)).toEqual([
      'ok',
      'ok',
      'ok',
      'ok',
    ]);
    // Answered creates, plus at most one in flight per connection when the clock stopped; none left in PostgreSQL.
    const created = doc.data.runs.find((x) => x.name === 'create')!.requests;
    expect(doc.data.cleanup!.deletedTasks).toBeGreaterThanOrEqual(created);
    expect(doc.data.cleanup!.deletedTasks).toBeLessThanOrEqual(created + 4);
    // Every chat request opened a conversation of two messages: all of them gone too.
    const chats = doc.data.runs.find((x) => x.name === 'chat')!.requests;
    expect(doc.data.cleanup!.deletedConversations).toBeGreaterThanOrEqual(chats);
    expect(doc.data.cleanup!.deletedMessages).toBe(2 * doc.data.cleanup!.deletedConversations);
    const left = (
      await sh()`kubectl exec -n ${ns} ${release}-postgresql-0 -- psql -U todo -d todo -tAc ${"select (select count(*) from task where user_id = 'ops-perf') + (select count(*) from conversation where user_id = 'ops-perf') + (select count(*) from message where user_id = 'ops-perf')"}`
    ).stdout.trim();
    expect(left).toBe('0');
    // Nothing of the run's token or the app's secret on either stream.
    expect(r.stdout + r.stderr).not.toMatch(/eyJ[\w-]+\.eyJ/);
    const secret = (await kube().core.readNamespacedSecret({ namespace: ns, name: `${release}-app-secrets` })).data!
      .BETTER_AUTH_SECRET!;
    expect(r.stdout + r.stderr).not.toContain(Buffer.from(secret, 'base64').toString());
  }, 120_000);

  it('the next run is compared with the previous one; a missed SLO is exit 1 with what would meet it', async () => {
    const r = await perf(['--endpoints', 'health', '--duration', '2s', '--requests', '50', '-o', 'json'], {
      TODO_PERF_SLO_P95_MS: '1',
      TODO_PERF_SLO_P99_MS: '1',
    });
    assertFailure(r, 1);
    const doc = r.json<Doc>();
    const f = doc.findings.find((x) => x.name === 'perf health')!;
    expect(f).toMatchObject({ level: 'fail', required: true });
    expect(f.detail).toMatch(
      /SLO missed \(p95 [\d.]+ ms > 1 ms, p99 [\d.]+ ms > 1 ms\); p95 [+-]\d+% vs the previous run \([\d.]+ ms\)$/,
    );
    expect(doc.data.missed).toEqual(['health']);
    expect(doc.data.suggestions[0]).toMatch(
      /^latency is [\d.]+x the SLO at 1 ready replica: run \d+ \(npx zx scripts\/scale\.ts backend \d+\)$/,
    );
    // The text view says the same in a table.
    const t = await perf(['--endpoints', 'health', '--duration', '1s', '--requests', '20'], {
      TODO_PERF_SLO_P95_MS: '1',
      TODO_PERF_SLO_P99_MS: '1',
    });
    assertFailure(t, 1);
    expect(t.stdout).toMatch(/ENDPOINT\s+REQUESTS\s+REQ\/S\s+P50\s+P95\s+P99\s+ERRORS\s+SLO/);
    expect(t.stdout).toMatch(/GET \/healthz\s+\d+\s+[\d.]+\s+[\d.]+ ms.*FAIL/);
    expect(t.stdout).toMatch(/^suggestion: latency is/m);
  }, 120_000);

  it('scaled to zero: no pod to forward to, exit 1, every endpoint failed, and the suggestion is to scale up', async () => {
    await sh()`kubectl -n ${ns} scale deployment/${release}-backend --replicas=0`;
    await sh()`kubectl -n ${ns} wait --for=delete pod -l app.kubernetes.io/instance=${release},app.kubernetes.io/component=backend --timeout=60s`;
    const r = await perf(['--duration', '2s', '--requests', '20', '-o', 'json']);
    assertFailure(r, 1);
    const doc = r.json<Doc>();
    expect(doc.findings.find((f) => f.name === 'backend reachable')).toMatchObject({ level: 'fail' });
    expect(
      doc.findings
        .filter((f) => f.name.startsWith('perf '))
        .every((f) => f.level === 'fail' && f.detail.includes('no request completed')),
    ).toBe(true);
    expect(doc.data.suggestions).toEqual([
      'no backend pod is ready: scale it up (npx zx scripts/scale.ts backend 1) and see why (npx zx scripts/debug.ts)',
    ]);
  }, 120_000);
});
