// The shared client's retry and timeout behaviour, proven against the real API
// server through a loopback proxy that injects the faults real clusters show:
// 503 from an overloaded apiserver, 429 from priority-and-fairness, a reset
// connection. The proxy forwards everything else unchanged.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '../../scripts/lib/kube/k8s.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Kube } from '../../scripts/lib/kube/client.ts';
import { Exit, OpsError } from '../../scripts/lib/kit/errors.ts';
import { waitForRollout } from '../../scripts/lib/kube/rollout.ts';
import { deleteNamespace, kube, tempNamespace } from '../helpers/cluster.ts';

type Fault = '503' | '429' | 'reset' | 'pass';

describe('kube client retries against the real API server', () => {
  const faults: Fault[] = [];
  const seen: string[] = [];
  let server: http.Server;
  let kubeconfig: string;

  beforeAll(async () => {
    const upstream = new KubeConfig();
    upstream.loadFromFile(inject('kubeconfig'));
    const base = new URL(upstream.getCurrentCluster()!.server);
    const tls: https.RequestOptions = {};
    await upstream.applyToHTTPSOptions(tls);
    server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const fault = faults.shift() ?? 'pass';
      if (fault === 'reset') return void req.socket.destroy();
      if (fault !== 'pass') {
        res.writeHead(Number(fault), { 'content-type': 'application/json', 'retry-after': '0' });
        return void res.end(
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            code: Number(fault),
            message: `injected ${fault}`,
          }),
        );
      }
      const up = https.request(
        {
          ...tls,
          hostname: base.hostname,
          port: base.port,
          path: req.url,
          method: req.method,
          headers: { ...req.headers, host: base.host },
        },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          res.flushHeaders(); // a watch's headers come before its first event
          r.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      res.on('close', () => up.destroy()); // a client that hangs up (a stopped watch) ends the upstream request too
      req.pipe(up);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    kubeconfig = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-proxy-')), 'kubeconfig');
    fs.writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'proxy',
        clusters: [
          { name: 'proxy', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } },
        ],
        users: [{ name: 'proxy', user: {} }],
        contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'proxy' } }],
      }),
    );
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const client = () => new Kube({ kubeconfig, retries: 3 });
  const reset = (...f: Fault[]) => {
    faults.splice(0, faults.length, ...f);
    seen.length = 0;
  };

  it('retries 503s and returns the real answer', async () => {
    reset('503', '503');
    const v = await client().version();
    expect(v.gitVersion).toBe('v1.33.13');
    expect(seen).toEqual(['GET /version', 'GET /version', 'GET /version']);
  });

  it('retries a 429 and a reset connection on a List', async () => {
    reset();
    await client().list('v1', 'Node'); // baseline: discovery + the List
    const clean = [...seen];
    reset('429', 'reset');
    const nodes = await client().list('v1', 'Node');
    // The bed is shared: other runs may add nodes of their own; the bed's two are always there.
    expect(nodes.map((n) => n.metadata?.name)).toEqual(expect.arrayContaining(['bed-node-1', 'bed-node-2']));
    // The two faulted requests were each sent again; nothing else changed.
    expect(seen).toHaveLength(clean.length + 2);
    expect(new Set(seen)).toEqual(new Set(clean));
  });

  it('does not retry a 404, and read() turns it into undefined', async () => {
    reset();
    expect(await client().read('v1', 'ConfigMap', 'no-such-thing', 'default')).toBeUndefined();
    expect(seen.filter((s) => s.includes('/configmaps/no-such-thing'))).toHaveLength(1);
  });

  it('the typed API getters (core, apps) retry too: a 503 and a reset, then the real answer', async () => {
    reset('503', 'reset');
    const ns = await client().core.readNamespace({ name: 'default' });
    expect(ns.metadata?.name).toBe('default');
    expect(seen).toEqual([
      'GET /api/v1/namespaces/default',
      'GET /api/v1/namespaces/default',
      'GET /api/v1/namespaces/default',
    ]);
    reset('429');
    const deployments = await client().apps.listNamespacedDeployment({ namespace: 'kube-system' });
    expect(Array.isArray(deployments.items)).toBe(true);
    expect(seen).toEqual([
      'GET /apis/apps/v1/namespaces/kube-system/deployments',
      'GET /apis/apps/v1/namespaces/kube-system/deployments',
    ]);
  });

  it('a typed getter against an API server that is down is exit code 3, like every other call', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const dead = kubeconfig.replace(/kubeconfig$/, 'dead-typed');
    fs.writeFileSync(dead, fs.readFileSync(kubeconfig, 'utf8').replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`));
    const err = await new Kube({ kubeconfig: dead, retries: 1 }).core.listNode().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpsError);
    expect((err as OpsError).code).toBe(Exit.unreachable);
    expect((err as OpsError).message).toMatch(/\(ECONNREFUSED\) during core\.listNode$/);
  });

  it('a rollout wait retries its requests: a 503 on the first, then the rollout is seen through the watch', async () => {
    const ns = await tempNamespace('kube-retry');
    try {
      await kube().apply({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: ns },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'app', image: 'registry.example/app:1.0' }] },
          },
        },
      });
      reset('503');
      const done = await waitForRollout(client(), { kind: 'Deployment', name: 'web', namespace: ns, timeoutSec: 60 });
      expect(done.done).toBe(true);
      // The first request (API discovery for the List) got the 503 and was sent again; then the List and a watch.
      expect(seen[1]).toBe(seen[0]);
      expect(seen).toContainEqual(
        expect.stringMatching(new RegExp(`^GET /apis/apps/v1/namespaces/${ns}/deployments\\?.*watch=true`)),
      );
    } finally {
      await deleteNamespace(ns);
    }
  });

  it('a rollout wait against an API server that is down ends with exit code 3, not a timeout', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const dead = kubeconfig.replace(/kubeconfig$/, 'dead-rollout');
    fs.writeFileSync(dead, fs.readFileSync(kubeconfig, 'utf8').replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`));
    const t0 = Date.now();
    const err = await waitForRollout(new Kube({ kubeconfig: dead, retries: 1 }), {
      kind: 'Deployment',
      name: 'web',
      namespace: 'default',
      timeoutSec: 60,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpsError);
    expect((err as OpsError).code).toBe(Exit.unreachable);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it("gives up after the retry budget with the server's error", async () => {
    reset('503', '503', '503', '503', '503');
    await expect(client().version()).rejects.toMatchObject({ code: 503 });
    expect(seen).toHaveLength(4); // 1 try + 3 retries
  });

  it('an API server that is down is exit code 3 with a hint', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const dead = kubeconfig.replace(/kubeconfig$/, 'dead');
    fs.writeFileSync(dead, fs.readFileSync(kubeconfig, 'utf8').replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`));
    const err = await new Kube({ kubeconfig: dead, retries: 1 }).version().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpsError);
    expect((err as OpsError).code).toBe(Exit.unreachable);
    expect((err as OpsError).message).toMatch(
      /cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
    );
  });
});
