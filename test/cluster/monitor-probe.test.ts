// monitor --probe through real port-forwards: the release's backend and
// frontend run on the kubelet stand-in (test/fixtures/kwok-kubelet.ts), whose
// port-forward leads to HTTP servers this test runs on 127.0.0.1 and plays
// the app's health endpoints. The API server, the Services' selectors and
// targetPort names are real.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standinTaint, startStandin, type Standin } from '../fixtures/kwok-kubelet.ts';
import { bedEnv, deleteNamespace, kube, tempNamespace } from '../helpers/cluster.ts';
import { assertFailure, assertSuccess, run, scratchEnv } from '../helpers/run.ts';

const release = 'probe';
interface Doc {
  findings: { name: string; level: string; detail: string; evidence?: Record<string, unknown> }[];
  data: { state: string };
}

describe('monitor --probe on the test bed', () => {
  let ns: string;
  let env: NodeJS.ProcessEnv;
  let standin: Standin;
  const k = kube();
  // What the app answers; the tests change it.
  const answers = { '/readyz': [200, '{"status":"ready"}'], '/api/ready': [200, '{"ready":true}'] } as Record<
    string,
    [number, string]
  >;
  const seen: string[] = [];
  const server = (component: string) =>
    http.createServer((req, res) => {
      seen.push(`${component} ${req.url}`);
      const [status, body] = answers[req.url ?? ''] ?? [404, 'not found'];
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
  const servers = [server('backend'), server('frontend')];
  const monitor = (...args: string[]) =>
    run('scripts/monitor.ts', ['--profile', 'testbed', '-n', ns, ...args], { env });

  beforeAll(async () => {
    ns = await tempNamespace('monitor-probe');
    env = { ...bedEnv(), ...scratchEnv(), TODO_RELEASE: release };
    const ports = await Promise.all(
      servers.map(
        (s) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port))),
      ),
    );
    standin = await startStandin(k, { namespace: ns, forwards: { 8000: ports[0]!, 3000: ports[1]! } });
    const labels = (component: string) => ({
      'app.kubernetes.io/instance': release,
      'app.kubernetes.io/component': component,
    });
    const workload = (component: string, port: number): V1Deployment => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `${release}-${component}`, namespace: ns, labels: labels(component) },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels(component) },
        template: {
          metadata: { labels: labels(component) },
          spec: {
            nodeName: standin.node,
            tolerations: [{ ...standinTaint, operator: 'Equal' }],
            containers: [
              {
                name: component,
                image: `registry.example/${component}:1.0`,
                ports: [{ name: 'http', containerPort: port }],
              },
            ],
          },
        },
      },
    });
    for (const [component, port] of [
      ['backend', 8000],
      ['frontend', 3000],
    ] as const) {
      await k.apply(workload(component, port));
      await k.apply({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: `${release}-${component}`, namespace: ns, labels: labels(component) },
        spec: { selector: labels(component), ports: [{ name: 'http', port, targetPort: 'http' as never }] },
      });
    }
    await k.waitFor<V1Deployment>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      timeoutSec: 60,
      done: (ds) => ds.length === 2 && ds.every((d) => d.status?.readyReplicas === 1),
    });
  });
  afterAll(async () => {
    await standin?.stop();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    if (ns) await deleteNamespace(ns);
  });

  it('both answer 2xx: healthy, exit 0, the answers shown', async () => {
    const r = await monitor('--probe', '-o', 'json');
    assertSuccess(r);
    const doc = r.json<Doc>();
    expect(doc.data.state).toBe('healthy');
    expect(
      doc.findings
        .filter((f) => f.name.startsWith('probe '))
        .map((f) => [f.name, f.level, f.detail.replace(/in \d+ ms/, 'in N ms')]),
    ).toEqual([
      ['probe backend /readyz', 'ok', `${release}-backend GET /readyz: 200 in N ms`],
      ['probe frontend /api/ready', 'ok', `${release}-frontend GET /api/ready: 200 in N ms`],
    ]);
    expect(seen).toEqual(expect.arrayContaining(['backend /readyz', 'frontend /api/ready']));
    const text = await monitor('--probe');
    assertSuccess(text);
    expect(text.stdout).toMatch(/^APP \(--probe\)$/m);
  });

  it('the backend says it is not ready (database down): degraded, exit 1, its answer quoted', async () => {
    answers['/readyz'] = [503, '{"status":"not ready","database":"unreachable"}'];
    const r = await monitor('--probe', '-o', 'json');
    assertFailure(r, 1);
    const doc = r.json<Doc>();
    expect(doc.data.state).toBe('degraded');
    expect(doc.findings.find((f) => f.name === 'probe backend /readyz')).toMatchObject({
      level: 'fail',
      detail: `${release}-backend GET /readyz: 503 {"status":"not ready","database":"unreachable"}`,
    });
    // Without --probe nothing asks the app: the same release looks healthy.
    assertSuccess(await monitor());
  });

  it('--probe with --watch is refused (one line, exit 2)', async () => {
    const r = await monitor('--probe', '--watch');
    assertFailure(r, 2);
    expect(r.stderr.split('\n')[0]).toBe('monitor: --probe is a one-off check: use it without --watch');
  });
});
