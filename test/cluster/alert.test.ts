// alert end to end on the kwok nodes (the bed's crash-loop stage makes a
// Deployment's pods crash again and again; dropping the label ends it), run as
// a process the way cron runs it, notifying a webhook receiver on loopback.
// A `for` of 2 s; the repeat interval is set per run (1 h, then 1 s) and the
// silence replaced by a 1 s one, so each step is decided by the stored state,
// not by how fast the machine is; the waits are for known deadlines to pass.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bedEnv, deleteNamespace, fixture, kube, tempNamespace } from '../helpers/cluster.ts';
import { assertSuccess, run, scratchEnv } from '../helpers/run.ts';

interface Doc {
  exitCode: number;
  findings: { name: string; level: string; detail: string; evidence?: Record<string, any> }[];
  data: {
    notices: { kind: string; key: string; title: string }[];
    firing: string[];
    pending: string[];
    silenced: string[];
  };
}

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
    const r = await run('ops/alert.ts', ['-o', 'json', ...args.filter((a) => !a.startsWith('REPEAT='))], {
      env: {
        ...env,
        ...Object.fromEntries(
          args.filter((a) => a.startsWith('REPEAT=')).map((a) => ['TODO_ALERT_REPEAT', a.slice(7)]),
        ),
      },
      timeoutMs: 60_000,
    });
    return { r, doc: r.json<Doc>() };
  };
  const about = (kind: string) => received.filter((n) => n.fields?.kind === kind && n.fields?.alert === key);
  const deployment = (crash: boolean): V1Deployment => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'api' } },
      template: {
        metadata: {
          labels: { app: 'api', ...(crash ? { 'todo-ops.test/crashloop': 'true' } : {}) },
          annotations: { 'todo-ops.test/crashloop-delay-ms': '300' },
        },
        spec: { containers: [{ name: 'app', image: 'registry.example/app:1.0' }] },
      },
    },
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
      ...scratchEnv({
        TODO_NAMESPACE: ns,
        TODO_RELEASE: 'none',
        TODO_WEBHOOK_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
        TODO_WEBHOOK_FORMAT: 'json',
        TODO_WEBHOOK_RETRIES: '0',
      }),
      TODO_ALERT_RULES: 'crash-loop,readyz,backup-stale,forecast',
      TODO_ALERT_FOR: 'crash-loop=2s',
      TODO_ALERT_REPEAT: '1h',
      TODO_ALERT_HEARTBEAT: '1h',
    };
    await k.apply(deployment(true));
    await k.waitFor({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: ns,
      labelSelector: 'app=api',
      timeoutSec: 60,
      done: (ps: readonly any[]) =>
        ps.some((p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff'),
    });
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
    // --agent: the newly firing alert goes to kagent; its stand-in fails the way kagent does (exit 0, error on stderr).
    const kagentLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-kagent-')), 'calls.jsonl');
    const plain = env;
    env = {
      ...env,
      PATH: `${fixture('bin-standins')}:${env.PATH}`,
      STANDIN_LOG: kagentLog,
      STANDIN_FAIL: 'kagent invoke',
    };
    const second = await alert('--agent');
    env = plain;
    const call = JSON.parse(fs.readFileSync(kagentLog, 'utf8')) as string[];
    expect(call).toEqual([
      'kagent',
      'invoke',
      '-a',
      'todo-monitor',
      '-n',
      ns, // the Agents' namespace: the release namespace (TODO_KAGENT_NAMESPACE unset)
      '-t',
      call[7],
      '--timeout',
      '300s',
    ]);
    expect(call[7]).toMatch(
      new RegExp(
        `^alert found these problems in namespace ${ns} \\(Helm release none\\):\n- FIRING crash-loop: deployment/api is crash-looping: api-\\S+: container app is crash-looping`,
      ),
    );
    expect(second.doc.findings.find((f) => f.name === 'agent')).toMatchObject({
      level: 'warn',
      detail: 'todo-monitor: failed: Error: failed to invoke agent: agent not found (stand-in)',
    });
    expect(second.r.status).toBe(1);
    expect(second.doc.data.firing).toEqual([key]);
    expect(about('firing')).toHaveLength(1);
    expect(about('firing')[0]!.title).toBe('FIRING crash-loop: deployment/api is crash-looping');

    const third = await alert();
    expect(third.doc.data.notices).toEqual([]);
    expect(about('firing')).toHaveLength(1);

    // A silence of the rule: a repeat that is due is held back.
    assertSuccess((await alert('silence', 'crash-loop', '--for', '1h', '--comment', 'test')).r);
    const silenced = await alert('REPEAT=1s');
    expect(silenced.r.status).toBe(0); // a silenced alert does not fail the run
    expect(silenced.doc.data.silenced).toEqual([key]);
    expect(silenced.doc.findings.find((f) => f.name === 'alert crash-loop')!.detail).toMatch(/^firing \(silenced\)/);
    expect(about('repeat')).toHaveLength(0);

    // The silence replaced by one of 1 s; once it has ended, the repeat goes out, once.
    const short = await alert('silence', 'crash-loop', '--for', '1s');
    await until((short.r.json() as { data: { silence: { until: string } } }).data.silence.until, 0);
    const expired = await alert('REPEAT=1s');
    expect(expired.doc.findings.some((f) => f.name === 'silence' && /expired/.test(f.detail))).toBe(true);
    expect(about('repeat')).toHaveLength(1);
    expect(about('repeat')[0]!.title).toMatch(/^STILL FIRING crash-loop: deployment\/api is crash-looping/);

    // The cause goes away: the next run sends a resolved notice, once.
    await k.apply(deployment(false));
    await k.waitFor<V1Deployment>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      fieldSelector: 'metadata.name=api',
      timeoutSec: 60,
      done: ([d]) => d?.status?.readyReplicas === 1 && d.status.updatedReplicas === 1 && (d.status.replicas ?? 0) === 1,
    });
    const resolved = await alert();
    expect(resolved.r.status).toBe(0);
    expect(about('resolved')).toHaveLength(1);
    expect(about('resolved')[0]!.title).toBe('RESOLVED crash-loop: deployment/api is crash-looping');
    expect(received.filter((n) => n.fields?.kind === 'heartbeat')).toHaveLength(1);
    expect(received.filter((n) => n.fields?.kind === 'heartbeat')[0]!.title).toMatch(
      /^alert heartbeat: 0 firing, 1 pending/,
    );
  }, 120_000);
});
