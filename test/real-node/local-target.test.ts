// The local cluster as a newcomer's target: a fresh `bootstrap --target local`
// on the running bed (reused, never a second one) with HOME and KUBECONFIG of
// its own, so the machine's kubeconfig is never touched. Then every command it
// prints is run exactly as printed (parsed from its output, in a shell with no
// PATH to the built kubectl and helm); then a task made through the app
// survives a PostgreSQL pod deletion, and the cluster's loss (namespace, claim,
// volume and Secret gone, as after cluster:down/up) followed by the bootstrap
// again. Finally cluster:down's removal of the context takes out only its
// entries, and doctor -p local then names what brings it back.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { V1PersistentVolume, V1Pod, V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { $ } from 'zx';
import { realNodeName } from '../../scripts/lib/local-cluster/cluster.ts';
import { binDir } from '../../scripts/lib/local-cluster/layout.ts';
import { localContext, removeLocalContext } from '../../scripts/lib/local-cluster/local-target.ts';
import { bedEnv, curl, kube, sh } from '../helpers/cluster.ts';
import { makeEnvDir, userShellEnv } from '../helpers/env-dir.ts';
import { assertSuccess, childEnv, refuteOutput, repoRoot, run, runLine, type RunResult } from '../helpers/run.ts';

interface Kubeconfig {
  clusters: { name: string; cluster: { server: string } }[];
  users: { name: string }[];
  contexts: { name: string }[];
  'current-context'?: string;
}

describe('bootstrap --target local for a newcomer: the printed commands work, the data survives', () => {
  const ns = `local-e2e-${process.pid}`;
  const release = 'todo-chatbot';
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-local-'));
  const home = path.join(tmp, 'home');
  const envDir = path.join(tmp, 'env');
  const kubeconfig = path.join(home, '.kube', 'config');
  const dataDir = path.join(home, '.local/share/todo-chatbot-ops/local', ns, `${release}-postgresql`);
  const pv = `todo-ops-local-${ns}-${release}-postgresql`;
  const title = `keep me ${Date.now()}`;
  const timings: Record<string, number> = {};
  const env = userShellEnv(home, envDir, { TODO_DEPLOY_SETTLE: '2' });
  const bootstrap = () =>
    run('scripts/bootstrap.ts', ['--target', 'local', '--skip', 'images', '-n', ns], { env, timeoutMs: 300_000 });
  const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      timings[what] = Number(((Date.now() - t0) / 1000).toFixed(1));
    }
  };
  let first: RunResult;
  interface Doctor {
    findings: { name: string; level: string; detail: string; hint?: string }[];
  }
  const doctorLocal = () =>
    run('scripts/doctor.ts', ['-p', 'local', '-n', ns, '-o', 'json'], { env, timeoutMs: 60_000 });
  /**
   * Everything in the namespace gone, as with the cluster. The frontend and
   * backend hold no data and sit out their whole grace period (30 s): stopped at
   * once; PostgreSQL stops cleanly (a few seconds).
   */
  const wipeNamespace = async () => {
    const k = $({ env: bedEnv(), quiet: true, nothrow: true });
    await k`kubectl delete namespace ${ns} --wait=false --ignore-not-found`;
    await k`kubectl delete pod -n ${ns} -l app.kubernetes.io/component!=postgresql --grace-period=0 --force --ignore-not-found`;
    await k`kubectl wait --for=delete namespace/${ns} --timeout=180s`;
  };

  beforeAll(async () => {
    // bootstrap's own profile is the default one (minikube); its children's is local.
    makeEnvDir(tmp, { profiles: ['local', 'minikube'] });
    // The user already has a cluster of their own: it must stay as it was.
    fs.mkdirSync(path.dirname(kubeconfig), { recursive: true });
    fs.writeFileSync(
      kubeconfig,
      YAML.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'elsewhere', cluster: { server: 'https://192.0.2.1:6443' } }],
        users: [{ name: 'elsewhere', user: { token: 'not-a-real-token' } }],
        contexts: [{ name: 'elsewhere', context: { cluster: 'elsewhere', user: 'elsewhere' } }],
        'current-context': 'elsewhere',
      }),
    );
    first = await timed('bootstrap (fresh)', bootstrap);
  }, 320_000);

  afterAll(async () => {
    await wipeNamespace();
    await $({ env: bedEnv(), quiet: true, nothrow: true })`kubectl delete pv ${pv} --ignore-not-found`;
    removeLocalContext([kubeconfig]); // unrecords it from the bed, if the last test did not run
    fs.rmSync(tmp, { recursive: true, force: true });
    process.stdout.write(
      `[local target] ${Object.entries(timings)
        .map(([k, v]) => `${k} ${v} s`)
        .join(', ')}\n`,
    );
  }, 240_000);

  it('merges its context into the user kubeconfig (theirs untouched, 0600), runs the app on the real node over the kept data, and never says testbed', async () => {
    assertSuccess(first);
    refuteOutput(first, /testbed/);
    expect(first.output).toContain(`kube context ${localContext} merged into ${kubeconfig} (current)`);
    expect(fs.statSync(kubeconfig).mode & 0o777).toBe(0o600);
    const kc = YAML.parse(fs.readFileSync(kubeconfig, 'utf8')) as Kubeconfig;
    expect(kc.contexts.map((c) => c.name).sort()).toEqual(['elsewhere', localContext]);
    expect(kc.users.map((c) => c.name).sort()).toEqual(['elsewhere', localContext]);
    expect(kc.clusters.find((c) => c.name === 'elsewhere')!.cluster.server).toBe('https://192.0.2.1:6443');
    expect(kc['current-context']).toBe(localContext);
    // The app on the real node; PostgreSQL's claim on the volume over the user's data directory.
    const pods = await kube().list<V1Pod>('v1', 'Pod', ns);
    expect(new Set(pods.map((p) => p.metadata?.labels?.['app.kubernetes.io/component']))).toEqual(
      new Set(['frontend', 'backend', 'postgresql']),
    );
    for (const p of pods) expect(p.spec?.nodeName, p.metadata?.name).toBe(realNodeName);
    const vol = await kube().read<V1PersistentVolume>('v1', 'PersistentVolume', pv);
    expect(vol?.status?.phase).toBe('Bound');
    expect(vol?.spec?.local?.path).toBe(dataDir);
    expect(fs.existsSync(path.join(dataDir, 'pgdata', 'PG_VERSION'))).toBe(true);
    // The password kept with the data: in the profile's own env file (0600), in the Secret, never printed.
    const file = path.join(envDir, 'local.env.local');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const password = /^POSTGRES_PASSWORD=([0-9a-f]{64})$/m.exec(fs.readFileSync(file, 'utf8'))?.[1];
    expect(password).toBeTruthy();
    const secret = await kube().read<V1Secret>('v1', 'Secret', `${release}-app-secrets`, ns);
    expect(Buffer.from(secret!.data!.POSTGRES_PASSWORD!, 'base64').toString()).toBe(password);
    expect(first.output).not.toContain(password!);
  });

  it('every command it prints runs as printed (next steps with -p local, and the port-forward with the kubectl it names)', async () => {
    const lines = first.stdout.split('\n');
    const next = lines.slice(lines.indexOf('next:') + 1).filter((l) => /^\s+npx zx /.test(l));
    expect(next.length).toBeGreaterThanOrEqual(5);
    for (const line of next) expect(line).toMatch(new RegExp(`^\\s+npx zx scripts/\\S+\\.ts -p local -n ${ns}\\b`));
    const runIt = (line: string) =>
      timed(line.trim().split(/\s+/)[2]!, () => runLine(line.trim(), { env, timeoutMs: 240_000 }));
    // The ones that only read side by side (cheaper), then those that change the release, in order.
    const reads = next.filter((l) => /scripts\/(monitor|verify|debug)\.ts/.test(l));
    const [doctor, ...rest] = await Promise.all([doctorLocal(), ...reads.map(runIt)]);
    for (const r of rest) assertSuccess(r!);
    // The README's doctor -p local: the local target's own lines.
    assertSuccess(doctor!);
    const found = Object.fromEntries(doctor!.json<Doctor>().findings.map((f) => [f.name, f]));
    expect(found['local cluster']?.level).toBe('ok');
    expect(found['local context']).toMatchObject({ level: 'ok', detail: `${localContext} in ${kubeconfig}` });
    expect(found['local data']?.detail).toMatch(new RegExp(`^PostgreSQL's data: ${dataDir} \\(\\d+\\.\\d MiB`));
    // helm from the tools cache, unless this machine has one of its own on PATH.
    const ownHelm = env.PATH!.split(path.delimiter).some((d) => fs.existsSync(path.join(d, 'helm')));
    expect(found['tool helm']?.level).toBe('ok');
    if (!ownHelm) expect(found['tool helm']?.detail).toContain(path.join(binDir, 'helm'));
    for (const line of next.filter((l) => !reads.includes(l))) assertSuccess(await runIt(line));
    // The port-forward, as printed; it serves until stopped: the frontend answers through it.
    const forward = /(\S+ --context \S+ port-forward .*?)\s+# then open (http:\S+)/.exec(first.stdout);
    expect(forward, first.stdout).toBeTruthy();
    const child = spawn('bash', ['-c', `exec ${forward![1]!}`], { cwd: repoRoot, env: childEnv({ env }) });
    try {
      const said = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no forwarding within 30 s: ${out}`)), 30_000);
        const on = (d: Buffer) => {
          out += d.toString();
          if (!/Forwarding from/.test(out)) return;
          clearTimeout(timer);
          resolve(out);
        };
        child.stdout.on('data', on);
        child.stderr.on('data', on);
        child.on('exit', (c) => {
          clearTimeout(timer);
          reject(new Error(`port-forward exited ${c}: ${out}`));
        });
      });
      expect(said).toContain('Forwarding from 127.0.0.1:3000');
      const res = await fetch(new URL('/api/ready', forward![2]!));
      expect(res.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
  }, 600_000);

  it('a task made through the app survives a PostgreSQL pod deletion, then the loss of everything in the cluster and the bootstrap again', async () => {
    const svc = (c: string) => `${release}-${c}.${ns}.svc.cluster.local`;
    const demoPassword = () =>
      /^DEMO_PASSWORD=(\S+)$/m.exec(fs.readFileSync(path.join(envDir, '.env.local'), 'utf8'))![1]!;
    const signIn = async () => {
      const r = await curl(`http://${svc('frontend')}:3000/api/auth/sign-in`, {
        method: 'POST',
        body: { email: 'keeper@example.com', password: demoPassword() },
      });
      expect(r.status, r.body).toBe(200);
      const token = /set-cookie: todo_token=([^;]+)/i.exec(r.head)![1]!;
      const user = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;
      return { token, user };
    };
    const titles = async () => {
      const { token, user } = await signIn();
      const r = await curl(`http://${svc('backend')}:8000/api/${user}/tasks`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(r.status, r.body).toBe(200);
      return (JSON.parse(r.body) as { title: string }[]).map((t) => t.title);
    };
    const appReady = () =>
      sh()`kubectl wait -n ${ns} --for=condition=Ready pod -l app.kubernetes.io/instance=${release} --timeout=180s`;

    const { token } = await signIn();
    const chat = await curl(`http://${svc('frontend')}:3000/api/chat`, {
      method: 'POST',
      headers: { cookie: `todo_token=${token}` },
      body: { message: `add ${title}` },
    });
    expect(chat.status, chat.body).toBe(200);
    expect(await titles()).toContain(title);

    await timed('PostgreSQL pod deleted to Ready', async () => {
      const uid = (await sh()`kubectl get pod -n ${ns} ${release}-postgresql-0 -o jsonpath={.metadata.uid}`).stdout;
      await sh()`kubectl delete pod -n ${ns} ${release}-postgresql-0 --wait=true`;
      await sh()`kubectl wait -n ${ns} --for=create pod/${release}-postgresql-0 --timeout=60s`;
      await appReady();
      expect(
        (await sh()`kubectl get pod -n ${ns} ${release}-postgresql-0 -o jsonpath={.metadata.uid}`).stdout,
      ).not.toBe(uid);
    });
    expect(await titles()).toContain(title);

    // What cluster:down takes with it: every object (the Secret with the password, the claim, the volume).
    await timed('cluster objects deleted', async () => {
      await wipeNamespace();
      await sh()`kubectl delete pv ${pv} --wait=true`;
    });
    const again = await timed('bootstrap (after the loss)', bootstrap);
    assertSuccess(again);
    await appReady();
    expect(await titles()).toContain(title);
  }, 600_000);

  it("cluster:down's removal of the context takes out its entries only, and unsets it as the current context; doctor then says how to bring it back", async () => {
    expect(removeLocalContext([kubeconfig])).toEqual([kubeconfig]);
    const kc = YAML.parse(fs.readFileSync(kubeconfig, 'utf8')) as Kubeconfig;
    expect(kc.contexts.map((c) => c.name)).toEqual(['elsewhere']);
    expect(kc.clusters.map((c) => c.name)).toEqual(['elsewhere']);
    expect(kc.users.map((c) => c.name)).toEqual(['elsewhere']);
    expect(kc['current-context']).toBeUndefined();
    expect(fs.statSync(kubeconfig).mode & 0o777).toBe(0o600);
    const r = await doctorLocal();
    expect(r.status, r.output).toBe(3);
    const found = Object.fromEntries(r.json<Doctor>().findings.map((f) => [f.name, f]));
    expect(found['cluster']).toMatchObject({
      level: 'fail',
      detail: `context "${localContext}" not found in kubeconfig`,
    });
    // Hints carry the run's flags (kit/hints.ts): the command brings back this namespace's install.
    const again = `npx zx scripts/bootstrap.ts -p local -n ${ns} --target local`;
    expect(found['cluster']?.hint).toContain(`run: ${again}`);
    expect(found['local context']).toMatchObject({
      level: 'warn',
      detail: `no context ${localContext} in ${kubeconfig}`,
    });
    expect(found['local context']?.hint).toMatch(new RegExp(`^${again} --only cluster`));
  }, 60_000);
});
