// alert's readyz, backup-stale and forecast rules, each firing and resolving
// once, as a process against the test bed: the backend's /readyz is asked
// through a real port-forward to its Service (its pod runs on the kubelet
// stand-in, which forwards to an HTTP server of this test on 127.0.0.1); the
// backup history and the forecasts are the state files ops/backup.ts and
// ops/predict.ts write. Also `status` and `unsilence`.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openState } from '../../scripts/lib/kit/state.ts';
import { standinTaint, startStandin, type Standin } from '../fixtures/kwok-kubelet.ts';
import { bedEnv, deleteNamespace, kube, tempNamespace } from '../helpers/cluster.ts';
import { assertFailure, assertSuccess, run, scratchEnv } from '../helpers/run.ts';

const release = 'ar';
interface Doc {
  exitCode: number;
  findings: { name: string; level: string; detail: string }[];
  data: {
    notices?: { kind: string; key: string; title: string }[];
    firing?: string[];
    alerts?: { key: string; state: string }[];
    silences?: { match: string }[];
  };
}

describe('alert rules over the app, the backup history and the forecasts', () => {
  const k = kube();
  let ns = '';
  let env: NodeJS.ProcessEnv;
  let standin: Standin;
  let readyz: [number, string] = [200, '{"status":"ready"}'];
  const app = http.createServer((req, res) => {
    const [status, body] = req.url === '/readyz' ? readyz : [404, 'not found'];
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  });
  const hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d)).on('end', () => (received.push(JSON.parse(body)), res.writeHead(200).end()));
  });
  const received: { title: string; fields?: Record<string, string> }[] = [];
  const alert = async (...args: string[]) => {
    const r = await run('ops/alert.ts', ['-o', 'json', ...args], { env, timeoutMs: 60_000 });
    return { r, doc: r.json<Doc>() };
  };
  const keys = { readyz: `readyz:service/${release}-backend`, backup: 'backup-stale:backup', forecast: '' };
  let stateDir = '';
  const state = () => openState(env.TODO_STATE_DIR!, { context: k.contextName, namespace: ns });
  /** A backup record as ops/backup.ts appends it, at a time of the test's choosing. */
  const backupAt = (at: Date, ok = true) =>
    fs.appendFileSync(
      path.join(stateDir, 'backup.jsonl'),
      `${JSON.stringify({ at: at.toISOString(), ok, verified: ok ? true : null, archive: `${release}-${at.getTime()}`, bytes: 1, durationMs: 1 })}\n`,
    );
  const forecasts = (level: 'ok' | 'fail') => {
    const key = `memory/${ns}/Deployment/${release}-backend/backend`;
    keys.forecast = `forecast:${key}`;
    state().writeJson('forecasts', {
      at: new Date().toISOString(),
      forecasts: [
        {
          key,
          kind: 'memory',
          object: { kind: 'Deployment', name: `${release}-backend`, namespace: ns, container: 'backend' },
          etaSeconds: level === 'fail' ? 600 : null,
          r2: 0.98,
          samples: 12,
          spanSeconds: 3600,
          level,
          detail: level === 'fail' ? 'reaches the limit 512Mi in 10m' : 'not growing (R² 0.02)',
        },
      ],
    });
  };

  beforeAll(async () => {
    const port = await new Promise<number>((r) =>
      app.listen(0, '127.0.0.1', () => r((app.address() as AddressInfo).port)),
    );
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    ns = await tempNamespace('alert-rules');
    env = {
      ...bedEnv(),
      ...scratchEnv({
        TODO_NAMESPACE: ns,
        TODO_RELEASE: release,
        TODO_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/`,
        TODO_WEBHOOK_FORMAT: 'json',
        TODO_WEBHOOK_RETRIES: '0',
      }),
      TODO_ALERT_RULES: 'readyz,backup-stale,forecast',
      TODO_ALERT_FOR: 'readyz=0,backup-stale=0,forecast=0',
      TODO_ALERT_BACKUP_MAX_AGE: '26h',
    };
    stateDir = path.join(env.TODO_STATE_DIR!, k.contextName, ns);
    fs.mkdirSync(stateDir, { recursive: true });
    standin = await startStandin(k, { namespace: ns, forwards: { 8000: port } });
    const labels = { 'app.kubernetes.io/instance': release, 'app.kubernetes.io/component': 'backend' };
    await k.apply<V1Deployment>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `${release}-backend`, namespace: ns, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            nodeName: standin.node,
            tolerations: [{ ...standinTaint, operator: 'Equal' }],
            containers: [
              {
                name: 'backend',
                image: 'registry.example/backend:1.0',
                ports: [{ name: 'http', containerPort: 8000 }],
              },
            ],
          },
        },
      },
    });
    await k.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `${release}-backend`, namespace: ns, labels },
      spec: { selector: labels, ports: [{ name: 'http', port: 8000, targetPort: 'http' as never }] },
    });
    await k.waitFor<V1Deployment>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      timeoutSec: 60,
      done: (ds) => ds.length === 1 && ds[0]!.status?.readyReplicas === 1,
    });
  }, 120_000);
  afterAll(async () => {
    await standin?.stop();
    await Promise.all([app, hook].map((s) => new Promise((r) => s.close(r))));
    if (ns) await deleteNamespace(ns);
  });

  it('all well: exit 0, "no alert firing (3 rules checked)"; then each rule fires once, is listed by status, and resolves once', async () => {
    backupAt(new Date());
    forecasts('ok');
    const calm = await alert();
    assertSuccess(calm.r);
    expect(calm.doc.findings.find((f) => f.name === 'alerts')?.detail).toBe('no alert firing (3 rules checked)');

    // The backend answers 503, the last good backup is two days old, a forecast fails.
    readyz = [503, '{"status":"not ready","database":"unreachable"}'];
    fs.writeFileSync(path.join(stateDir, 'backup.jsonl'), ''); // the history: one good backup, two days old
    backupAt(new Date(Date.now() - 48 * 3600_000), true);
    forecasts('fail');
    const firing = await alert();
    assertFailure(firing.r, 1);
    expect(firing.doc.data.firing!.sort()).toEqual([keys.backup, keys.forecast, keys.readyz].sort());
    const fired = received
      .filter((n) => n.fields?.kind === 'firing')
      .map((n) => n.title)
      .sort();
    expect(fired).toHaveLength(3);
    expect(fired[0]).toMatch(/^FIRING backup-stale: the last good backup is \S+ old \(more than \S+\)$/);
    expect(fired[1]).toBe('FIRING forecast: forecast: reaches the limit 512Mi in 10m');
    expect(fired[2]).toBe('FIRING readyz: backend /readyz fails');

    // status: the stored alerts, without evaluating (exit 1 while one fires).
    const status = await alert('status');
    assertFailure(status.r, 1);
    expect(
      status.doc.data
        .alerts!.filter((a) => a.state === 'firing')
        .map((a) => a.key)
        .sort(),
    ).toEqual([keys.backup, keys.forecast, keys.readyz].sort());

    // unsilence: takes a silence away, and says when there was none.
    assertSuccess((await alert('silence', 'readyz', '--for', '1h')).r);
    const un = await alert('unsilence', 'readyz');
    assertSuccess(un.r);
    expect(un.doc.findings.find((f) => f.name === 'silence')?.detail).toBe('silence for readyz removed');
    expect((await alert('status')).doc.data.silences).toEqual([]);
    expect((await alert('unsilence', 'readyz')).doc.findings.find((f) => f.name === 'silence')?.detail).toBe(
      'no silence for readyz',
    );

    // Each cause goes away: one resolved notice each, and all is well again.
    readyz = [200, '{"status":"ready"}'];
    backupAt(new Date());
    forecasts('ok');
    const resolved = await alert();
    assertSuccess(resolved.r);
    expect(
      received
        .filter((n) => n.fields?.kind === 'resolved')
        .map((n) => n.fields?.alert)
        .sort(),
    ).toEqual([keys.backup, keys.forecast, keys.readyz].sort());
    expect(resolved.doc.findings.find((f) => f.name === 'alerts')?.detail).toBe('no alert firing (3 rules checked)');
    expect(received.filter((n) => n.fields?.kind === 'firing')).toHaveLength(3);
  }, 180_000);
});
