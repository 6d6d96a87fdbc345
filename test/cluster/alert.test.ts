// alert end to end on the kwok nodes (the bed's crash-loop stage makes a
// Deployment's pods crash again and again; dropping the label ends it), run as
// a process the way cron runs it, notifying a webhook receiver on loopback.
// Short durations (for 2 s, repeat 6 s, a 10 s silence) so the sequence takes seconds; the
// waits are for those deadlines to pass, computed from the stored state.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedEnv, deleteNamespace, kube, tempNamespace } from '../helpers/cluster.ts';
import { assertSuccess, run, scratchEnv } from '../helpers/run.ts';

interface Doc { exitCode: number; findings: { name: string; level: string; detail: string; evidence?: Record<string, any> }[]; data: { notices: { kind: string; key: string; title: string }[]; firing: string[]; pending: string[]; silenced: string[] } }

const until = (isoOrMs: string | number, plusSec: number) => {
  const due = (typeof isoOrMs === 'string' ? Date.parse(isoOrMs) : isoOrMs) + plusSec * 1000;
  return new Promise((r) => setTimeout(r, Math.max(0, due - Date.now() + 50)));
};

describe('alert on the test bed', () => {
  const k = kube();
  let ns = '';
  let server: http.Server;
  let env: NodeJS.ProcessEnv;
  const received: { title: string; fields?: Record<string, string> }[] = [];
  const key = 'crash-loop:deployment/api';
  const alert = async (...args: string[]) => {
    const r = await run('ops/alert.ts', ['-o', 'json', ...args], { env, timeoutMs: 60_000 });
    return { r, doc: r.json<Doc>() };
  };
  const about = (kind: string) => received.filter((n) => n.fields?.kind === kind && n.fields?.alert === key);
  const deployment = (crash: boolean): V1Deployment => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: ns },
    spec: { replicas: 1, selector: { matchLabels: { app: 'api' } }, template: {
      metadata: { labels: { app: 'api', ...(crash ? { 'todo-ops.test/crashloop': 'true' } : {}) }, annotations: { 'todo-ops.test/crashloop-delay-ms': '300' } },
      spec: { containers: [{ name: 'app', image: 'registry.example/app:1.0' }] },
    } },
  });

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d)).on('end', () => (received.push(JSON.parse(body)), res.writeHead(200).end()));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    ns = await tempNamespace('alert');
    env = {
      ...bedEnv(),
      ...scratchEnv({ TODO_NAMESPACE: ns, TODO_RELEASE: 'none', TODO_WEBHOOK_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, TODO_WEBHOOK_FORMAT: 'json', TODO_WEBHOOK_RETRIES: '0' }),
      TODO_ALERT_RULES: 'crash-loop,readyz,backup-stale,forecast',
      TODO_ALERT_FOR: 'crash-loop=2s',
      TODO_ALERT_REPEAT: '6s',
      TODO_ALERT_HEARTBEAT: '1h',
    };
    await k.apply(deployment(true));
    await k.waitFor({ apiVersion: 'v1', kind: 'Pod', namespace: ns, labelSelector: 'app=api', timeoutSec: 60, done: (ps: readonly any[]) => ps.some((p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff') });
  }, 90_000);
  afterAll(async () => {
    server?.close();
    if (ns) await deleteNamespace(ns);
  });

  it('pending until its for; then exactly one notice; again only after the repeat interval; silenced; announced when the silence ends; resolved; one heartbeat', async () => {
    const first = await alert();
    expect(first.r.status, first.r.stderr).toBe(0); // pending is not firing yet
    expect(first.doc.data.pending).toEqual([key]);
    expect(about('firing')).toEqual([]);
    // Rules whose input is absent are inactive, said as info.
    expect(first.doc.findings.filter((f) => f.name.startsWith('rule ')).map((f) => f.detail)).toEqual([
      'inactive: no backend Service in the namespace',
      'inactive: no backup history (ops/backup.ts has not run in this namespace)',
      'inactive: no forecasts (ops/predict.ts has not run in this namespace)',
    ]);
    const since = first.doc.findings.find((f) => f.name === 'alert crash-loop')!.evidence!.since as string;

    await until(since, 2);
    const second = await alert();
    expect(second.r.status).toBe(1);
    expect(second.doc.data.firing).toEqual([key]);
    expect(about('firing')).toHaveLength(1);
    expect(about('firing')[0]!.title).toBe('FIRING crash-loop: deployment/api is crash-looping');

    const third = await alert();
    expect(third.doc.data.notices).toEqual([]);
    expect(about('firing')).toHaveLength(1);

    // Fired (and told) at firingSince: the repeat is due 6 s later, inside a silence of the rule.
    const notified = second.doc.findings.find((f) => f.name === 'alert crash-loop')!.evidence!.firingSince as string;
    const silence = await alert('silence', 'crash-loop', '--for', '10s', '--comment', 'test');
    assertSuccess(silence.r);
    await until(notified, 6);
    const silenced = await alert();
    expect(silenced.r.status).toBe(0); // a silenced alert does not fail the run
    expect(silenced.doc.data.silenced).toEqual([key]);
    expect(silenced.doc.findings.find((f) => f.name === 'alert crash-loop')!.detail).toMatch(/^firing \(silenced\)/);
    expect(about('repeat')).toHaveLength(0);

    // The silence ends: the repeat that was held back goes out, once.
    await until((silence.r.json() as { data: { silence: { until: string } } }).data.silence.until, 0);
    const expired = await alert();
    expect(expired.doc.findings.some((f) => f.name === 'silence' && /expired/.test(f.detail))).toBe(true);
    expect(about('repeat')).toHaveLength(1);
    expect(about('repeat')[0]!.title).toMatch(/^STILL FIRING crash-loop: deployment\/api is crash-looping/);

    // The cause goes away: the next run sends a resolved notice, once.
    await k.apply(deployment(false));
    await k.waitFor<V1Deployment>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, fieldSelector: 'metadata.name=api', timeoutSec: 60, done: ([d]) => d?.status?.readyReplicas === 1 && d.status.updatedReplicas === 1 && (d.status.replicas ?? 0) === 1 });
    const resolved = await alert();
    expect(resolved.r.status).toBe(0);
    expect(about('resolved')).toHaveLength(1);
    expect(about('resolved')[0]!.title).toBe('RESOLVED crash-loop: deployment/api is crash-looping');
    expect(received.filter((n) => n.fields?.kind === 'heartbeat')).toHaveLength(1);
    expect(received.filter((n) => n.fields?.kind === 'heartbeat')[0]!.title).toMatch(/^alert heartbeat: 0 firing, 1 pending/);
  }, 120_000);
});
