// Logs, exec and port-forward through the real API server's pod subresources,
// served by a kubelet stand-in (test/fixtures/kwok-kubelet.ts: a second kwok
// managing one tainted node of this file's, with ClusterLogs, ClusterExec and
// ClusterPortForward). Everything stays on 127.0.0.1: port-forward reaches a
// TCP server this test runs, never a pod or Service IP.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpsError } from '../../scripts/lib/kit/errors.ts';
import { execInPod } from '../../scripts/lib/kube/exec.ts';
import { podLogs } from '../../scripts/lib/kube/logs.ts';
import { portForward } from '../../scripts/lib/kube/port-forward.ts';
import { deleteNamespace, kube, tempNamespace } from '../helpers/cluster.ts';
import { startStandin, type Standin } from '../fixtures/kwok-kubelet.ts';

const ready = (p?: V1Pod) => p?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** Sends one line on a fresh connection to 127.0.0.1:port and returns the first reply. */
function ask(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.setTimeout(10_000, () => s.destroy(new Error('no reply within 10s')));
    s.once('data', (b) => {
      resolve(b.toString('utf8'));
      s.end();
    });
    s.once('error', reject);
    s.once('close', () => reject(new Error('connection closed without a reply')));
    s.write(`${line}\n`);
  });
}

describe('pod logs, exec and port-forward', () => {
  let ns: string;
  let standin: Standin;
  let echo: net.Server;
  let echoPort: number;
  const k = kube();

  beforeAll(async () => {
    ns = await tempNamespace('kube-pod');
    // What "the app in the pod" is for port-forward: an echo server on loopback.
    echo = net.createServer((s) => s.on('data', (b) => s.write(`echo:${b.toString('utf8').trim()}`)));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoPort = (echo.address() as net.AddressInfo).port;
    standin = await startStandin(k, {
      namespace: ns,
      logs: {
        api: { container: 'app', current: ['starting', 'listening on :8000', 'GET /health 200'] },
        crashy: { container: 'app', current: ['starting'], previous: ['starting', 'panic: no database'] },
        // What a real kubelet sends, as a 200's body, when the container it names was removed while it read.
        collected: {
          container: 'app',
          current: ['starting'],
          previous: ['unable to retrieve container logs for containerd://0123abcd'],
        },
      },
      forwards: { 8000: echoPort },
    });
    const api = standin.pod(
      'api',
      {
        containers: [
          { name: 'app', image: 'registry.example/api:1.0', ports: [{ name: 'http', containerPort: 8000 }] },
        ],
      },
      { app: 'api' },
    );
    await k.apply(api);
    // Put in a crash loop by the bed's crashloop stage: it gets a previous (terminated) container.
    await k.apply(standin.pod('crashy', {}, { 'todo-ops.test/crashloop': 'true' }));
    await k.apply(standin.pod('collected', {}, { 'todo-ops.test/crashloop': 'true' }));
    await k.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'api', namespace: ns },
      spec: { selector: { app: 'api' }, ports: [{ name: 'web', port: 80, targetPort: 'http' as never }] },
    });
    const restarted = (p?: V1Pod) => (p?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1;
    await k.waitFor<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: ns,
      timeoutSec: 60,
      done: (ps) =>
        ready(ps.find((p) => p.metadata?.name === 'api')) &&
        restarted(ps.find((p) => p.metadata?.name === 'crashy')) &&
        restarted(ps.find((p) => p.metadata?.name === 'collected')),
    });
  });
  afterAll(async () => {
    await standin?.stop();
    await new Promise<void>((r) => (echo ? echo.close(() => r()) : r()));
    if (ns) await deleteNamespace(ns);
  });

  it('logs: the current container, the last N lines', async () => {
    expect(await podLogs(k, { namespace: ns, pod: 'api' })).toEqual({
      container: 'app',
      text: 'starting\nlistening on :8000\nGET /health 200\n',
    });
    expect((await podLogs(k, { namespace: ns, pod: 'api', container: 'app', tailLines: 1 })).text).toBe(
      'GET /health 200\n',
    );
  });

  it('logs: the previous container (what a crash loop printed before it died)', async () => {
    expect(await podLogs(k, { namespace: ns, pod: 'crashy', previous: true, tailLines: 1 })).toEqual({
      container: 'app',
      text: 'panic: no database\n',
    });
  });

  it('logs: the kubelet\'s "unable to retrieve container logs" body is asked again, then an answer, never log text', async () => {
    expect(await podLogs(k, { namespace: ns, pod: 'collected', previous: true })).toEqual({
      container: 'app',
      text: '',
      unavailable: 'unable to retrieve container logs for containerd://0123abcd',
    });
  });

  it('logs: no previous container is an answer, not a throw', async () => {
    const r = await podLogs(k, { namespace: ns, pod: 'api', previous: true }).catch((e: unknown) => e);
    expect(r).not.toBeInstanceOf(Error);
    expect(r).toEqual({
      container: 'app',
      text: '',
      unavailable: 'container app of pod api has not restarted: there is no previous container',
    });
  });

  it('logs: a pod that does not exist is an OpsError naming it', async () => {
    await expect(podLogs(k, { namespace: ns, pod: 'ghost' })).rejects.toThrow(`pod ghost not found in namespace ${ns}`);
  });

  it('exec: stdout, stderr and exit code 0 from the status channel', async () => {
    const r = await execInPod(k, {
      namespace: ns,
      pod: 'api',
      command: ['sh', '-c', 'echo out; echo err >&2'],
      timeoutSec: 30,
    });
    expect(r).toEqual({ exitCode: 0, stdout: 'out\n', stderr: 'err\n' });
  });

  it('exec: stdin in, stdout streamed into a file (the pg_dump/psql shape)', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-exec-')), 'dump.sql');
    const out = fs.createWriteStream(file);
    const r = await execInPod(k, {
      namespace: ns,
      pod: 'api',
      command: ['sh', '-c', 'read line; echo "-- dump of $line"'],
      stdin: 'todo\n',
      stdout: out,
      timeoutSec: 30,
    });
    await new Promise<void>((res) => (out.writableFinished ? res() : out.once('finish', () => res())));
    expect(r.exitCode).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe('-- dump of todo\n');
  });

  it('exec: a failing command is reported with its exit status', async () => {
    const r = await execInPod(k, { namespace: ns, pod: 'api', command: ['sh', '-c', 'exit 3'], timeoutSec: 30 }).then(
      (x) => String(x.exitCode),
      (e: unknown) => e,
    );
    // A real kubelet sends NonZeroExitCode (exitCode 3); kwok's exec reports the exit as an error status.
    if (typeof r === 'string') expect(r).toBe('3');
    else {
      expect(r).toBeInstanceOf(OpsError);
      expect((r as OpsError).message).toMatch(/exec in api -n \S+ failed: .*exit status 3/);
    }
  });

  it('exec: a missing pod is an OpsError saying so, not a WebSocket error', async () => {
    const err = await execInPod(k, { namespace: ns, pod: 'ghost', command: ['true'], timeoutSec: 30 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpsError);
    expect((err as OpsError).message).toBe(`exec in ghost -n ${ns} refused (HTTP 404): no such pod`);
  });

  it('port-forward to a pod: 127.0.0.1 with an ephemeral port, one stream per connection', async () => {
    const f = await portForward(k, { namespace: ns, pod: 'api', port: 8000 });
    try {
      expect(f).toMatchObject({ pod: 'api', targetPort: 8000 });
      expect(f.port).toBeGreaterThan(0);
      const [a, b] = await Promise.all([ask(f.port, 'one'), ask(f.port, 'two')]);
      expect([a, b]).toEqual(['echo:one', 'echo:two']);
    } finally {
      await f.close();
    }
    await expect(ask(f.port, 'closed')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('port-forward to a Service: its selector to a ready pod, its targetPort name to the container port', async () => {
    const f = await portForward(k, { namespace: ns, service: 'api', port: 'web' });
    try {
      expect(f).toMatchObject({ pod: 'api', targetPort: 8000 });
      expect(await ask(f.port, 'via service')).toBe('echo:via service');
    } finally {
      await f.close();
    }
  });

  it('port-forward to a port nothing listens on: the connection fails and the error is reported', async () => {
    let reported!: (e: Error) => void;
    const error = new Promise<Error>((r) => (reported = r));
    const f = await portForward(k, { namespace: ns, pod: 'api', port: 9999, onError: (e) => reported(e) });
    try {
      const reply = ask(f.port, 'anyone?');
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('no error reported within 10s')), 10_000).unref(),
      );
      expect((await Promise.race([error, timeout])).message).toMatch(/^port-forward to api:9999: /);
      await expect(reply).rejects.toThrow('connection closed without a reply');
    } finally {
      await f.close();
    }
  });
});
