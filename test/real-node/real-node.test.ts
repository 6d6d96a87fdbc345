// The chart on the bed's real node (real-0): real containers from the repo's
// images (containerd + runc), real probes, cluster DNS, Services through
// kube-proxy, a PostgreSQL with a local volume. Traffic to pods and Services is
// sent only from inside the bed's network namespace (insideExec), or through the
// API server (logs, exec, port-forward to 127.0.0.1). One helm release.
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { $ } from 'zx';
import { recycleVolumes, realNodeName } from '../../scripts/lib/local-cluster/cluster.ts';
import { insideExec } from '../../scripts/lib/local-cluster/node.ts';
import { chartPostgresRef } from '../../scripts/lib/local-cluster/image-builds.ts';
import { bedEnv, curl, kube, sh, tempNamespace } from '../helpers/cluster.ts';
import { assertFailure, assertSuccess, repoRoot, run, scratchEnv } from '../helpers/run.ts';

const chartDir = path.join(repoRoot, 'charts/todo-chatbot');
const bedValues = path.join(repoRoot, 'scripts/lib/local-cluster/values-realnode.yaml');
const release = 'todo';
const toleration = { key: 'todo-ops.test/real-node', operator: 'Exists', effect: 'NoSchedule' };
const onRealNode = { nodeSelector: { type: 'real' }, tolerations: [toleration] };

const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

describe('the chart on the real node', () => {
  let ns = '';
  const k = kube();
  let installSeconds = 0;
  const podsOf = async (component: string) =>
    (
      await k.list<V1Pod>(
        'v1',
        'Pod',
        ns,
        `app.kubernetes.io/instance=${release},app.kubernetes.io/component=${component}`,
      )
    ).filter((p) => !p.metadata?.deletionTimestamp);
  const svc = (component: string) => `${release}-${component}.${ns}.svc.cluster.local`;

  beforeAll(async () => {
    ns = await tempNamespace('real');
    const t0 = Date.now();
    await sh()`helm install ${release} ${chartDir} -n ${ns} -f ${bedValues} --wait --timeout 5m`;
    installSeconds = (Date.now() - t0) / 1000;
    process.stdout.write(`[real node] helm install to all three workloads Ready: ${installSeconds.toFixed(1)} s\n`);
  }, 360_000);

  afterAll(async () => {
    if (!ns) return;
    await $({ env: bedEnv(), quiet: true, nothrow: true })`helm uninstall ${release} -n ${ns} --wait --timeout 120s`;
    await $({ env: bedEnv(), quiet: true, nothrow: true })`kubectl delete namespace ${ns} --wait=true --timeout=180s`;
    // The PostgreSQL volume is Released now: wipe it and give it back to the pool.
    await recycleVolumes();
  }, 300_000);

  it('installs with all pods Ready through their real probes, on real-0, from containerd', async () => {
    const pods = await k.list<V1Pod>('v1', 'Pod', ns);
    const names = pods.map((p) => p.metadata!.labels!['app.kubernetes.io/component']).sort();
    expect(names).toEqual(['backend', 'frontend', 'postgresql']);
    for (const p of pods) {
      expect(p.spec?.nodeName).toBe(realNodeName);
      expect(ready(p)).toBe(true);
      const cs = p.status!.containerStatuses![0]!;
      expect(cs.containerID).toMatch(/^containerd:\/\//);
      expect(cs.imageID).toMatch(/sha256:[0-9a-f]{64}/);
      expect(cs.started).toBe(true);
      expect(p.status?.podIP).toMatch(/^10\.244\.1\./);
    }
    // The kubelet's own probe counters (through the API server's node proxy): every
    // container was found ready and live by probes the kubelet really ran.
    const metrics = (await sh()`kubectl get --raw /api/v1/nodes/${realNodeName}/proxy/metrics/probes`).stdout;
    for (const c of ['frontend', 'backend', 'postgresql'])
      for (const probe of ['Readiness', 'Startup'])
        expect(metrics, `${c} ${probe}`).toMatch(
          new RegExp(
            `prober_probe_total\\{container="${c}",namespace="${ns}",pod="[^"]+",pod_uid="[^"]+",probe_type="${probe}",result="successful"\\} [1-9]`,
          ),
        );
    // The data directory is the bound local volume, initialised by the image's entrypoint as the pod's uid.
    const pvc = (
      await sh()`kubectl get pvc -n ${ns} data-${release}-postgresql-0 -o jsonpath=${'{.status.phase} {.spec.storageClassName}'}`
    ).stdout;
    expect(pvc).toBe('Bound bed-local');
  });

  it('the backend reaches PostgreSQL by its Service name (cluster DNS, kube-proxy)', async () => {
    const [backend] = await podsOf('backend');
    const url = backend!.spec!.containers[0]!.env!.find((e) => e.name === 'DATABASE_URL')!.value!;
    expect(url).toContain(`@${release}-postgresql:5432/`);
    const clusterIP = (await sh()`kubectl get svc -n ${ns} ${release}-postgresql -o jsonpath={.spec.clusterIP}`).stdout;
    // Inside the backend container: the short name resolves (search path) to the Service, and /readyz runs SELECT 1 through it.
    const py = `import socket, urllib.request; print(socket.gethostbyname('${release}-postgresql')); print(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=5).read().decode())`;
    const out = (await sh()`kubectl exec -n ${ns} ${backend!.metadata!.name!} -- python -c ${py}`).stdout.split('\n');
    expect(out[0]).toBe(clusterIP);
    expect(out[1]).toMatch(/ok|ready/i);
    // The bed's own resolver is the cluster DNS too.
    const bedView = (await insideExec(['getent', 'hosts', svc('postgresql')])).stdout;
    expect(bedView.split(/\s+/)[0]).toBe(clusterIP);
  });

  it("a chat request through the frontend's Service creates a task that the backend's tasks API returns", async () => {
    // The sign-in password the chart generated into the app Secret (DEMO_PASSWORD).
    const password = Buffer.from(
      (await sh()`kubectl get secret -n ${ns} ${release}-secrets -o jsonpath={.data.DEMO_PASSWORD}`).stdout,
      'base64',
    ).toString();
    expect(password).not.toBe('');
    const refused = await curl(`http://${svc('frontend')}:3000/api/auth/sign-in`, {
      method: 'POST',
      body: { email: 'bed@example.com', password: 'wrong' },
    });
    expect(refused.status).toBe(401);
    const signIn = await curl(`http://${svc('frontend')}:3000/api/auth/sign-in`, {
      method: 'POST',
      body: { email: 'bed@example.com', password },
    });
    expect(signIn.status, signIn.body).toBe(200);
    const token = /set-cookie: todo_token=([^;]+)/i.exec(signIn.head)?.[1];
    expect(token).toBeTruthy();
    const title = `buy milk ${Date.now()}`;
    const chat = await curl(`http://${svc('frontend')}:3000/api/chat`, {
      method: 'POST',
      headers: { cookie: `todo_token=${token}` },
      body: { message: `add ${title}` },
    });
    expect(chat.status, chat.body).toBe(200);
    const reply = JSON.parse(chat.body) as { conversation_id: number; tool_calls: { tool: string }[] };
    expect(reply.conversation_id).toBeGreaterThan(0);
    expect(reply.tool_calls.map((t) => t.tool)).toContain('add_task');
    // Straight to the backend's Service with the same JWT: the task is in PostgreSQL.
    const userId = (JSON.parse(Buffer.from(token!.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;
    const tasks = await curl(`http://${svc('backend')}:8000/api/${userId}/tasks`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(tasks.status, tasks.body).toBe(200);
    expect((JSON.parse(tasks.body) as { title: string }[]).map((t) => t.title)).toContain(title);
    const rows = (
      await sh()`kubectl exec -n ${ns} ${release}-postgresql-0 -- psql -U todo -d todo -tAc ${`select count(*) from task where title = '${title}'`}`
    ).stdout.trim();
    expect(rows).toBe('1');
  });

  describe('scripts/verify.ts run directly against this release', () => {
    interface VerifyDoc {
      exitCode: number;
      findings: { name: string; level: string; detail: string; evidence?: { user?: string } }[];
    }
    const verify = (...args: string[]) =>
      run('scripts/verify.ts', ['-n', ns, '-o', 'json', ...args], {
        env: { ...bedEnv(), ...scratchEnv({ TODO_RELEASE: release }) },
        timeoutMs: 120_000,
      });
    const count = async (table: string, user: string) =>
      (
        await sh()`kubectl exec -n ${ns} ${release}-postgresql-0 -- psql -U todo -d todo -tAc ${`select count(*) from ${table} where user_id = '${user}'`}`
      ).stdout.trim();

    it('exit 0: both health endpoints and the chat round trip; its task and conversation are deleted afterwards', async () => {
      const r = await verify();
      assertSuccess(r);
      const doc = r.json<VerifyDoc>();
      const chat = doc.findings.find((f) => f.name === 'chat round trip')!;
      expect(chat.level).toBe('ok');
      expect(doc.findings.filter((f) => f.level !== 'ok')).toEqual([]);
      const user = chat.evidence!.user!;
      expect(user).toMatch(/^todo-ops-verify-/);
      for (const table of ['task', 'conversation', 'message']) expect(await count(table, user), table).toBe('0');
    });

    it('--no-chat: the health endpoints only, nothing written', async () => {
      const before = (
        await sh()`kubectl exec -n ${ns} ${release}-postgresql-0 -- psql -U todo -d todo -tAc ${'select count(*) from conversation'}`
      ).stdout.trim();
      const r = await verify('--no-chat');
      assertSuccess(r);
      const names = r.json<VerifyDoc>().findings.map((f) => f.name);
      expect(names).not.toContain('chat round trip');
      expect(names.length).toBeGreaterThanOrEqual(2);
      const after = (
        await sh()`kubectl exec -n ${ns} ${release}-postgresql-0 -- psql -U todo -d todo -tAc ${'select count(*) from conversation'}`
      ).stdout.trim();
      expect(after).toBe(before);
    });

    it('exit 1 when the round trip breaks: the Secret changed under a running backend (its token is refused)', async () => {
      const name = `${release}-secrets`;
      const old = (await k.core.readNamespacedSecret({ namespace: ns, name })).data!.BETTER_AUTH_SECRET!;
      const patch = (v: string) =>
        k.mergePatch({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name, namespace: ns },
          data: { BETTER_AUTH_SECRET: v },
        });
      await patch(Buffer.from('not-the-secret-the-backend-started-with-0123456789').toString('base64'));
      try {
        const r = await verify();
        assertFailure(r, 1);
        const chat = r.json<VerifyDoc>().findings.find((f) => f.name === 'chat round trip')!;
        expect(chat).toMatchObject({ level: 'fail' });
        expect(chat.detail).toMatch(/401/);
      } finally {
        await patch(old);
      }
    });
  });

  it('kubectl logs and exec work through the API server (the real container output)', async () => {
    const logs = (await sh()`kubectl logs -n ${ns} ${release}-postgresql-0`).stdout;
    expect(logs).toContain('PostgreSQL init process complete; ready for start up.');
    expect(logs).toContain('database system is ready to accept connections');
    const id = (await sh()`kubectl exec -n ${ns} ${release}-postgresql-0 -- id -u`).stdout.trim();
    const uid = (
      await sh()`kubectl get pod -n ${ns} ${release}-postgresql-0 -o jsonpath={.spec.securityContext.runAsUser}`
    ).stdout;
    expect(id).toBe(uid);
    const stdin = await $({
      env: bedEnv(),
      quiet: true,
      input: 'select 40 + 2;\n',
    })`kubectl exec -i -n ${ns} ${release}-postgresql-0 -- psql -U todo -d todo -tA`;
    expect(stdin.stdout.trim()).toBe('42');
  });

  it('PostgreSQL keeps its data when its pod is replaced (local volume), and the entrypoint does not initialise again', async () => {
    const before = (
      await sh()`kubectl exec -n ${ns} ${release}-postgresql-0 -- psql -U todo -d todo -tAc ${'select count(*) from task'}`
    ).stdout.trim();
    expect(Number(before)).toBeGreaterThan(0);
    const oldUid = (await sh()`kubectl get pod -n ${ns} ${release}-postgresql-0 -o jsonpath={.metadata.uid}`).stdout;
    await sh()`kubectl delete pod -n ${ns} ${release}-postgresql-0 --wait=true --timeout=60s`;
    await k.waitFor<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: ns,
      labelSelector: `app.kubernetes.io/instance=${release},app.kubernetes.io/component=postgresql`,
      timeoutSec: 120,
      done: (ps) => ps.some((p) => p.metadata?.uid !== oldUid && ready(p)),
    });
    const logs = (await sh()`kubectl logs -n ${ns} ${release}-postgresql-0`).stdout;
    expect(logs).toContain('Database directory appears to contain a database; Skipping initialization');
    const after = (
      await sh()`kubectl exec -n ${ns} ${release}-postgresql-0 -- psql -U todo -d todo -tAc ${'select count(*) from task'}`
    ).stdout.trim();
    expect(after).toBe(before);
    // The backend finds it again through the Service (readiness runs SELECT 1).
    await sh()`kubectl wait -n ${ns} --for=condition=Ready pod -l app.kubernetes.io/instance=${release},app.kubernetes.io/component=backend --timeout=90s`;
  });

  it('the PostgreSQL image initialises as any non-root uid with a read-only root filesystem (as the hardened chart will run it)', async () => {
    await k.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'pg-any-uid', namespace: ns },
      stringData: { password: 'bed-only-password' },
    });
    await k.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'pg-any-uid', namespace: ns, labels: { test: 'pg-any-uid' } },
      spec: {
        ...onRealNode,
        securityContext: {
          runAsUser: 23456,
          runAsGroup: 23456,
          fsGroup: 23456,
          runAsNonRoot: true,
          seccompProfile: { type: 'RuntimeDefault' },
        },
        containers: [
          {
            name: 'postgresql',
            image: chartPostgresRef(),
            imagePullPolicy: 'Never',
            env: [
              { name: 'POSTGRES_USER', value: 'alice' },
              { name: 'POSTGRES_DB', value: 'notes' },
              { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'pg-any-uid', key: 'password' } } },
              { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
            ],
            readinessProbe: {
              exec: { command: ['sh', '-c', 'exec pg_isready -q -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"'] },
              periodSeconds: 1,
            },
            securityContext: {
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ['ALL'] },
            },
            volumeMounts: [
              { name: 'data', mountPath: '/var/lib/postgresql/data' },
              { name: 'run', mountPath: '/var/run/postgresql' },
              { name: 'tmp', mountPath: '/tmp' },
            ],
          },
        ],
        volumes: [
          { name: 'data', emptyDir: {} },
          { name: 'run', emptyDir: { medium: 'Memory' } },
          { name: 'tmp', emptyDir: {} },
        ],
      },
    });
    await sh()`kubectl wait -n ${ns} --for=condition=Ready pod/pg-any-uid --timeout=90s`;
    // Over the pod's address (not loopback, which initdb trusts, as in the official image):
    // scram-sha-256 with the password, as the backend connects.
    const podIP = (await sh()`kubectl get pod -n ${ns} pg-any-uid -o jsonpath={.status.podIP}`).stdout;
    const psql = (password: string) =>
      $({
        env: bedEnv(),
        quiet: true,
        nothrow: true,
      })`kubectl exec -n ${ns} pg-any-uid -- env PGPASSWORD=${password} psql -h ${podIP} -U alice -d notes -tAc ${'select current_user, current_database(), (select rolsuper from pg_roles where rolname = current_user)'}`;
    const who = await psql('bed-only-password');
    expect(who.stdout.trim(), who.stderr).toBe('alice|notes|t');
    const wrong = await psql('wrong');
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.stderr).toMatch(/password authentication failed/);
    const files = (
      await sh()`kubectl exec -n ${ns} pg-any-uid -- stat -c ${'%u %a'} /var/lib/postgresql/data/pgdata`
    ).stdout.trim();
    expect(files).toBe('23456 700');
  });

  it('kubectl port-forward to a Service answers on 127.0.0.1', async () => {
    const child = spawn(
      'kubectl',
      ['port-forward', '-n', ns, `svc/${release}-frontend`, ':3000', '--address', '127.0.0.1'],
      { env: bedEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('port-forward did not start in 30s')), 30_000);
        child.stdout!.on('data', (d: Buffer) => {
          const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(d.toString());
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        });
        child.on('exit', (c) => reject(new Error(`port-forward exited ${c}`)));
      });
      const r = await fetch(`http://127.0.0.1:${port}/api/health`, { signal: AbortSignal.timeout(10_000) });
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ status: 'ok' });
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('a container that exits non-zero restarts, with its real exit code, reason and previous log', async () => {
    await k.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'crasher', namespace: ns, labels: { test: 'crasher' } },
      spec: {
        ...onRealNode,
        containers: [
          {
            name: 'app',
            image: chartPostgresRef(),
            imagePullPolicy: 'Never',
            command: ['bash', '-c', 'echo "run $(date +%s%N) of $HOSTNAME"; exit 3'],
            securityContext: { runAsUser: 10001, runAsNonRoot: true, allowPrivilegeEscalation: false },
          },
        ],
      },
    });
    const [p] = await k.waitFor<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: ns,
      labelSelector: 'test=crasher',
      timeoutSec: 90,
      // Backing off after a restart: the container that just exited is the one kept as "previous".
      done: (ps) =>
        (ps[0]?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 &&
        ps[0]?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff',
      describe: (ps) => JSON.stringify(ps[0]?.status?.containerStatuses?.[0] ?? {}),
    });
    const cs = p!.status!.containerStatuses![0]!;
    expect(cs.lastState?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(p!.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    // The kubelet keeps one dead container per container: while a newer one has just run and its
    // status is not reported yet, "previous" names a container already removed. Ask until it answers.
    const deadline = Date.now() + 60_000;
    let previous = '';
    while (!/^run \d+ of crasher\n$/.test(previous) && Date.now() < deadline) {
      previous = (await $({ env: bedEnv(), quiet: true, nothrow: true })`kubectl logs -n ${ns} crasher --previous`)
        .stdout;
      if (!/^run \d+ of crasher\n$/.test(previous)) await new Promise((r) => setTimeout(r, 500));
    }
    expect(previous).toMatch(/^run \d+ of crasher\n$/);
  });

  it('a memory limit too small for the backend gives a real OOMKilled (and the old pod keeps serving)', async () => {
    const backendPods = await podsOf('backend');
    const before = backendPods.map((p) => p.metadata!.name!);
    const limit = backendPods[0]!.spec!.containers[0]!.resources!.limits!.memory;
    await sh()`helm upgrade ${release} ${chartDir} -n ${ns} -f ${bedValues} --reuse-values --set backend.resources.limits.memory=40Mi --set backend.resources.requests.memory=40Mi`;
    try {
      const pods = await k.waitFor<V1Pod>({
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: ns,
        labelSelector: `app.kubernetes.io/instance=${release},app.kubernetes.io/component=backend`,
        timeoutSec: 120,
        done: (ps) =>
          ps.some((p) =>
            [
              p.status?.containerStatuses?.[0]?.lastState?.terminated,
              p.status?.containerStatuses?.[0]?.state?.terminated,
            ].some((t) => t?.reason === 'OOMKilled'),
          ),
        describe: (ps) =>
          ps.map((p) => `${p.metadata?.name}: ${JSON.stringify(p.status?.containerStatuses?.[0] ?? {})}`).join('\n'),
      });
      const oom = pods.find((p) => !before.includes(p.metadata!.name!))!;
      expect(oom.spec!.containers[0]!.resources!.limits!.memory).toBe('40Mi');
      const t =
        oom.status!.containerStatuses![0]!.lastState?.terminated ??
        oom.status!.containerStatuses![0]!.state?.terminated;
      expect(t).toMatchObject({ reason: 'OOMKilled', exitCode: 137 });
      // maxUnavailable 0: the old pod is still the Service's ready endpoint.
      const old = pods.find((p) => before.includes(p.metadata!.name!))!;
      expect(ready(old)).toBe(true);
    } finally {
      await sh()`helm rollback ${release} -n ${ns} --wait --timeout 3m`;
    }
    const after = await podsOf('backend');
    expect(after.map((p) => p.spec!.containers[0]!.resources!.limits!.memory)).toEqual(after.map(() => limit));
  });

  it("a readiness probe that fails keeps the pod out of the Service's endpoints, until it passes", async () => {
    const pod = (name: string, readyAtStart: boolean) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns, labels: { app: 'probe' } },
      spec: {
        ...onRealNode,
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'app',
            image: chartPostgresRef(),
            imagePullPolicy: 'Never',
            command: ['bash', '-c', `${readyAtStart ? 'touch /tmp/ready; ' : ''}exec sleep infinity`],
            readinessProbe: { exec: { command: ['test', '-e', '/tmp/ready'] }, periodSeconds: 1, failureThreshold: 1 },
            securityContext: { runAsUser: 10001, runAsNonRoot: true, allowPrivilegeEscalation: false },
          },
        ],
      },
    });
    await k.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'probe', namespace: ns },
      spec: { selector: { app: 'probe' }, ports: [{ port: 80 }] },
    });
    await k.apply(pod('probe-ready', true));
    await k.apply(pod('probe-failing', false));
    const ip = async (name: string) => {
      await k.waitFor<V1Pod>({
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: ns,
        labelSelector: 'app=probe',
        timeoutSec: 60,
        done: (ps) => ps.some((x) => x.metadata?.name === name && x.status?.containerStatuses?.[0]?.started),
      });
      return (await k.list<V1Pod>('v1', 'Pod', ns, 'app=probe')).find((x) => x.metadata?.name === name)!.status!.podIP!;
    };
    const [readyIP, failingIP] = [await ip('probe-ready'), await ip('probe-failing')];
    const addresses = (which: 'addresses' | 'notReadyAddresses') =>
      sh()`kubectl get endpoints -n ${ns} probe -o jsonpath=${`{.subsets[*].${which}[*].ip}`}`.then((r) =>
        r.stdout.split(' ').filter(Boolean).sort(),
      );
    await sh()`kubectl wait -n ${ns} --for=jsonpath={.subsets[0].notReadyAddresses[0].ip}=${failingIP} endpoints/probe --timeout=60s`;
    await sh()`kubectl wait -n ${ns} --for=condition=Ready pod/probe-ready --timeout=60s`;
    expect(await addresses('addresses')).toEqual([readyIP]);
    expect(await addresses('notReadyAddresses')).toEqual([failingIP]);
    // The probe passes from now on: the kubelet marks it ready and it joins the Service.
    await sh()`kubectl exec -n ${ns} probe-failing -- touch /tmp/ready`;
    await sh()`kubectl wait -n ${ns} --for=condition=Ready pod/probe-failing --timeout=60s`;
    await sh()`kubectl wait -n ${ns} --for=jsonpath={.subsets[0].addresses[1].ip} endpoints/probe --timeout=60s`;
    expect(await addresses('addresses')).toEqual([readyIP, failingIP].sort());
  });
});
