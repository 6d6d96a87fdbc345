// deploy, scale and config as processes against the test bed, on one release
// installed by deploy itself. kwok plays the kubelet: a crash loop is the pod
// template's label todo-ops.test/crashloop (scripts/lib/local-cluster/kwok/crashloop-stage.yaml),
// an unschedulable pod a CPU request no node has. The same failures with real
// containers (a broken image, a real crash loop) are in real-node-failures.test.ts.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import type { V1Deployment, V1Pod, V1Secret } from '@kubernetes/client-node';
import { KubeConfig } from '../../scripts/lib/kube/k8s.ts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bedEnv, deleteNamespace, kube, sh } from '../helpers/cluster.ts';
import { makeEnvDir } from '../helpers/env-dir.ts';
import { assertFailure, assertSuccess, repoRoot, run, scratchEnv, type RunResult } from '../helpers/run.ts';
import { tsNodeFlags } from '../../scripts/lib/kit/node-flags.ts';

const release = 'rel';
const ns = `release-scripts-${process.pid}`;
const secretName = `${release}-app-secrets`;
const zxCli = path.join(repoRoot, 'node_modules/zx/build/cli.js');

interface Doc {
  exitCode: number;
  actions: { what: string; target: string; status: string; detail?: string }[];
  findings: { name: string; level: string; detail: string }[];
  data: Record<string, any>;
}

describe('deploy, scale and config on the test bed', () => {
  let envDir: string;
  let env: NodeJS.ProcessEnv;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-rel-'));
  const outputs: string[] = [];
  const go = async (
    script: string,
    args: string[],
    extra: NodeJS.ProcessEnv = {},
    input?: string,
  ): Promise<RunResult> => {
    const r = await run(`scripts/${script}.ts`, args, { env: { ...env, ...extra }, input, timeoutMs: 170_000 });
    outputs.push(r.output);
    return r;
  };
  const deploy = (...args: string[]) => go('deploy', args);
  const scale = (...args: string[]) => go('scale', args);
  const config = (...args: string[]) => go('config', args);
  const file = (name: string, text: string) => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, text);
    return f;
  };

  /** What "the cluster unchanged" means here: the revision count and every object's resourceVersion. */
  const snapshot = async () => {
    const k = kube();
    const revisions = (await k.list('v1', 'Secret', ns, `owner=helm,name=${release}`)).length;
    const kinds = [
      ['apps/v1', 'Deployment'],
      ['apps/v1', 'StatefulSet'],
      ['autoscaling/v2', 'HorizontalPodAutoscaler'],
      ['policy/v1', 'PodDisruptionBudget'],
      ['v1', 'Secret'],
      ['v1', 'ConfigMap'],
      ['v1', 'Service'],
    ] as const;
    const versions: string[] = [];
    // A Deployment's pod-template revision, and its replicas unless an HPA owns them (the HPA
    // changes those, and so the generation, on its own).
    const rollouts = (d: { metadata?: { annotations?: Record<string, string> } }) =>
      Number(d.metadata?.annotations?.['deployment.kubernetes.io/revision']);
    const hpaTargets = new Set(
      (
        await k.list<{ apiVersion?: string; kind?: string; spec?: { scaleTargetRef: { name: string } } }>(
          'autoscaling/v2',
          'HorizontalPodAutoscaler',
          ns,
        )
      ).map((h) => h.spec!.scaleTargetRef.name),
    );
    const deployment = (o: {
      metadata?: { name?: string; annotations?: Record<string, string> };
      spec?: { replicas?: number };
    }) => `rollout ${rollouts(o)}, replicas ${hpaTargets.has(o.metadata!.name!) ? '(HPA)' : o.spec?.replicas}`;
    for (const [v, kind] of kinds)
      for (const o of await k.list(v, kind, ns))
        // Workloads, HPAs and PDBs: their spec (their status moves on its own); the rest: resourceVersion.
        versions.push(
          `${kind}/${o.metadata?.name}@${kind === 'Deployment' ? deployment(o as never) : ['StatefulSet', 'HorizontalPodAutoscaler', 'PodDisruptionBudget'].includes(kind) ? o.metadata?.generation : o.metadata?.resourceVersion}`,
        );
    const deps = await k.list<V1Deployment>('apps/v1', 'Deployment', ns);
    return {
      revisions,
      versions: versions.sort(),
      generations: Object.fromEntries(deps.map((d) => [d.metadata!.name!, rollouts(d)])),
    };
  };
  const history = async () =>
    (await sh()`helm history ${release} -n ${ns} -o json`).json() as {
      revision: number;
      status: string;
      description: string;
    }[];
  const pods = async (component: string) =>
    (
      await kube().list<V1Pod>(
        'v1',
        'Pod',
        ns,
        `app.kubernetes.io/instance=${release},app.kubernetes.io/component=${component}`,
      )
    ).filter((p) => !p.metadata?.deletionTimestamp);
  const liveSecret = async () => (await kube().read<V1Secret>('v1', 'Secret', secretName, ns))!;

  beforeAll(async () => {
    // The profile's local values overlay (what config set writes, deploy reads): frontend without
    // an HPA and with a PDB floor; backend autoscaled (the profile's HPA).
    envDir = makeEnvDir(tmp, {
      values:
        'frontend:\n  autoscaling:\n    enabled: false\n  podDisruptionBudget:\n    minAvailable: 2\n    maxUnavailable: null\n',
    });
    env = {
      ...bedEnv(),
      ...scratchEnv({
        TODO_ENV_DIR: envDir,
        TODO_NAMESPACE: ns,
        TODO_RELEASE: release,
        TODO_TIMEOUT: '40',
        TODO_DEPLOY_SETTLE: '4',
      }),
    };
  });
  afterAll(() => deleteNamespace(ns));

  it('a fresh deploy creates the namespace (Pod Security), the Secret from generated secrets it writes to the env file, installs and prints the history', async () => {
    const r = await deploy('-o', 'json');
    assertSuccess(r);
    const doc = r.json<Doc>();
    expect(doc.actions.map((a) => `${a.what}:${a.status}`)).toEqual([
      'create namespace:done',
      'create secret:done',
      'helm install:done',
    ]);
    expect(doc.data.history.map((h: { revision: number }) => h.revision)).toEqual([1]);
    const nsObj = await kube().read<{ metadata: { labels: Record<string, string> } }>('v1', 'Namespace', ns);
    expect(nsObj!.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const local = fs.readFileSync(path.join(envDir, '.env.local'), 'utf8');
    const auth = /^BETTER_AUTH_SECRET=(\w+)$/m.exec(local)![1]!;
    const demo = /^DEMO_PASSWORD=(\w+)$/m.exec(local)![1]!;
    expect((fs.statSync(path.join(envDir, '.env.local')).mode & 0o777).toString(8)).toBe('600');
    const s = await liveSecret();
    expect(Buffer.from(s.data!.DEMO_PASSWORD!, 'base64').toString()).toBe(demo);
    expect(r.output).not.toContain(auth);
    expect(r.output).not.toContain(demo);
    expect(doc.findings.find((f) => f.name === 'secret DEMO_PASSWORD')!.detail).toMatch(
      /^not in the env files: generated \(sha256:[0-9a-f]{6}\); written to .*\.env\.local$/,
    );
    // The release reads the Secret by name; no secret value in helm's values.
    const values = (await sh()`helm get values ${release} -n ${ns} -o json`).stdout;
    expect(JSON.parse(values).secrets).toEqual({ existingSecret: secretName, create: false });
    expect(values).not.toContain(auth);
  });

  // How long it takes is bench/deploy.ts's to say (a goal, not a test).
  it('redeploying unchanged does nothing: no new revision, no object touched; the text view prints the history', async () => {
    const before = await snapshot();
    const r = await deploy();
    assertSuccess(r);
    expect(r.stdout).toContain(`release ${release} in ${ns}: unchanged (no new revision)`);
    expect(r.stdout).toMatch(/REVISION\s+UPDATED\s+STATUS/);
    expect(r.stdout).toMatch(/^\s*1\s+\S.*deployed/m);
    expect(await snapshot()).toEqual(before);
  });

  it('--dry-run of a change shows the diff and changes nothing', async () => {
    const before = await snapshot();
    const r = await deploy('-f', file('debug.yaml', 'backend:\n  config:\n    logLevel: debug\n'), '--dry-run');
    assertSuccess(r);
    expect(r.stdout).toMatch(/~ ConfigMap\/rel-backend[\s\S]*- +LOG_LEVEL: info\n +\+ +LOG_LEVEL: debug/);
    expect(r.stdout).toContain('would: helm upgrade release/rel');
    expect(await snapshot()).toEqual(before);
  });

  it('a change to the backend: one new revision, only the backend rolls', async () => {
    const before = await snapshot();
    const frontendPods = (await pods('frontend')).map((p) => p.metadata!.name).sort();
    const r = await deploy('-f', path.join(tmp, 'debug.yaml'));
    assertSuccess(r);
    const after = await snapshot();
    expect(after.revisions).toBe(before.revisions + 1);
    expect(after.generations[`${release}-backend`]).toBe(before.generations[`${release}-backend`]! + 1);
    expect(after.generations[`${release}-frontend`]).toBe(before.generations[`${release}-frontend`]);
    expect((await pods('frontend')).map((p) => p.metadata!.name).sort()).toEqual(frontendPods);
  });

  it('a crash-looping configuration fails naming the pod and CrashLoopBackOff, and the release is back on the previous revision, serving', async () => {
    const good = (await history()).at(-1)!.revision;
    const crash = file(
      'crash.yaml',
      'backend:\n  config:\n    logLevel: debug\n  podLabels:\n    todo-ops.test/crashloop: "true"\n  podAnnotations:\n    todo-ops.test/crashloop-delay-ms: "300"\n    todo-ops.test/exit-code: "3"\n',
    );
    const r = await deploy('-f', crash, '-o', 'json');
    assertFailure(r, 4);
    const doc = r.json<Doc>();
    expect(doc.findings.find((f) => f.name === 'rollout')!.detail).toMatch(
      new RegExp(`pod ${release}-backend-\\S+: CrashLoopBackOff.*last exit code 3`),
    );
    expect(doc.actions.find((a) => a.what === 'helm rollback')).toMatchObject({
      status: 'done',
      detail: `serving revision ${good} again`,
    });
    const h = await history();
    expect(h.at(-1)!.description).toBe(`Rollback to ${good}`);
    await sh()`kubectl -n ${ns} rollout status deployment/${release}-backend --timeout=60s`;
    const backend = await pods('backend');
    expect(backend.every((p) => !p.metadata?.labels?.['todo-ops.test/crashloop'])).toBe(true);
  });

  it('--no-rollback leaves the failed revision in place and says so; the next good deploy recovers', async () => {
    const revs = (await history()).length;
    const r = await deploy('-f', path.join(tmp, 'crash.yaml'), '--no-rollback', '-o', 'json');
    assertFailure(r, 4);
    const doc = r.json<Doc>();
    expect(doc.findings.find((f) => f.name === 'rollback')!.detail).toBe(
      'not rolled back (--no-rollback): the failed revision stays',
    );
    expect(doc.actions.map((a) => a.what)).not.toContain('helm rollback');
    expect((await history()).length).toBe(revs + 1);
    assertSuccess(await deploy('-f', path.join(tmp, 'debug.yaml')));
    expect((await history()).length).toBe(revs + 2);
  });

  it("an unschedulable configuration names the scheduler's message, and is rolled back", async () => {
    const good = (await history()).at(-1)!.revision;
    const huge = file(
      'huge.yaml',
      'backend:\n  config:\n    logLevel: debug\n  resources:\n    requests:\n      cpu: "64"\n    limits:\n      cpu: "64"\n',
    );
    const r = await go('deploy', ['-f', huge], { TODO_TIMEOUT: '12' });
    assertFailure(r, 4);
    expect(r.stdout, r.stderr).toMatch(/Unschedulable: 0\/\d+ nodes are available: .*Insufficient cpu/);
    expect(r.stdout).not.toMatch(/^\s+at /m);
    expect((await history()).at(-1)!.description).toBe(`Rollback to ${good}`);
  });

  it('--build --dry-run builds nothing and shows the image change build-images would make', async () => {
    const before = await snapshot();
    const r = await deploy('-f', path.join(tmp, 'debug.yaml'), '--build', '--dry-run');
    assertSuccess(r);
    expect(r.stdout).toMatch(/- +image: todo-chatbot-backend:0\.1\.0\n +\+ +image: todo-chatbot-backend:[0-9a-f]{7}/);
    expect(await snapshot()).toEqual(before);
  });

  it('scale without an HPA: replicas via the release values, Ready, timed; the next deploy keeps them', async () => {
    const dry = await scale('frontend', '2', '--dry-run');
    assertSuccess(dry);
    expect(dry.stdout).toContain(`deployment/${release}-frontend: replicas 1 -> 2`);
    const r = await scale('frontend', '2', '-o', 'json');
    assertSuccess(r);
    const doc = r.json<Doc>();
    expect(doc.data.seconds).toBeGreaterThan(0);
    expect(doc.actions[0]!.detail).toMatch(/2\/2 Ready in [\d.]+s/);
    expect(
      (await pods('frontend')).filter((p) =>
        p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      ),
    ).toHaveLength(2);
    const before = await snapshot();
    const again = await deploy('-f', path.join(tmp, 'debug.yaml'));
    assertSuccess(again);
    expect(again.stdout).toContain('unchanged (no new revision)');
    expect(await snapshot()).toEqual(before);
  });

  it('scale refuses to go below the PodDisruptionBudget without --force; 0 needs --yes', async () => {
    const before = await snapshot();
    const pdb = await scale('frontend', '1');
    assertFailure(pdb, 2);
    expect(pdb.stderr).toMatch(
      /^scale: refusing to scale frontend to 1: its PodDisruptionBudget requires minAvailable 2$/m,
    );
    const zero = await scale('frontend', '0', '--force');
    assertFailure(zero, 2);
    expect(zero.stderr).toContain('without --yes');
    expect(await snapshot()).toEqual(before);
    assertSuccess(await scale('frontend', '0', '--force', '--yes'));
    expect(await pods('frontend')).toHaveLength(0);
    assertSuccess(await scale('frontend', '1', '--force'));
  });

  it('scale with an HPA sets its min/max and says so, both ways', async () => {
    const up = await scale('backend', '3');
    assertSuccess(up);
    expect(up.stdout).toMatch(
      /backend is autoscaled: its HorizontalPodAutoscaler's minReplicas\/maxReplicas are set \(1\/3 -> 3\/3\)/,
    );
    const hpa = await kube().read<{ kind?: string; spec: { minReplicas: number; maxReplicas: number } }>(
      'autoscaling/v2',
      'HorizontalPodAutoscaler',
      `${release}-backend`,
      ns,
    );
    expect(hpa!.spec).toMatchObject({ minReplicas: 3, maxReplicas: 3 });
    expect((await pods('backend')).length).toBe(3);
    const down = await scale('backend', '1', '--max', '2');
    assertSuccess(down);
    const hpa2 = await kube().read<{ kind?: string; spec: { minReplicas: number; maxReplicas: number } }>(
      'autoscaling/v2',
      'HorizontalPodAutoscaler',
      `${release}-backend`,
      ns,
    );
    expect(hpa2!.spec).toMatchObject({ minReplicas: 1, maxReplicas: 2 });
  });

  it('config set/diff/unset round trip', async () => {
    const clean = await config('diff', '-o', 'json');
    assertSuccess(clean);
    expect(clean.json<Doc>().data.differences).toEqual([]);
    assertSuccess(await config('set', 'backend.config.openaiModel=gpt-4.1-mini'));
    const key = 'sk-roundtrip-0123456789';
    const set = await go('config', ['set', 'OPENAI_API_KEY=-'], {}, key);
    assertSuccess(set);
    expect(set.output).not.toContain(key);
    const diff = await config('diff', '-o', 'json');
    expect(
      diff
        .json<Doc>()
        .data.differences.map((d: { key: string }) => d.key)
        .sort(),
    ).toEqual(['OPENAI_API_KEY', 'backend.config.openaiModel']);
    expect(diff.output).not.toContain(key);
    assertSuccess(await config('unset', 'backend.config.openaiModel', 'OPENAI_API_KEY'));
    expect((await config('diff', '-o', 'json')).json<Doc>().data.differences).toEqual([]);
  });

  it('config rotate changes the Secret and rolls exactly its readers through one recorded revision (the next deploy has nothing to do); the old value appears in no output, process list, ConfigMap or helm record', async () => {
    assertSuccess(await deploy()); // the baseline the last assertion compares with
    const revision = (await history()).at(-1)!.revision;
    const old = Buffer.from((await liveSecret()).data!.BETTER_AUTH_SECRET!, 'base64').toString();
    const podsBefore = {
      frontend: (await pods('frontend')).map((p) => p.metadata!.name),
      backend: (await pods('backend')).map((p) => p.metadata!.name),
      postgresql: (await pods('postgresql')).map((p) => p.metadata!.name),
    };
    // Sample every process's command line while rotate runs.
    const seen = new Set<string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
          try {
            seen.add(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
          } catch {
            /* gone */
          }
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    const r = await config('rotate', 'BETTER_AUTH_SECRET', '--verbose');
    sampling = false;
    await sampler;
    assertSuccess(r);
    const now = Buffer.from((await liveSecret()).data!.BETTER_AUTH_SECRET!, 'base64').toString();
    expect(now).not.toBe(old);
    expect(fs.readFileSync(path.join(envDir, '.env.local'), 'utf8')).toContain(`BETTER_AUTH_SECRET=${now}`);
    expect(r.stdout).toMatch(
      /helm upgrade release\/rel\b.*rolls deployment\/rel-backend, deployment\/rel-frontend \(their pods read BETTER_AUTH_SECRET\)/,
    );
    expect(r.stdout).not.toMatch(/statefulset/);
    expect((await history()).at(-1)!.revision).toBe(revision + 1); // helm upgrade keeps the newest 10 revisions: count by number
    const after = {
      frontend: (await pods('frontend')).map((p) => p.metadata!.name),
      backend: (await pods('backend')).map((p) => p.metadata!.name),
      postgresql: (await pods('postgresql')).map((p) => p.metadata!.name),
    };
    expect(after.frontend.some((p) => podsBefore.frontend.includes(p))).toBe(false);
    expect(after.backend.some((p) => podsBefore.backend.includes(p))).toBe(false);
    expect(after.postgresql).toEqual(podsBefore.postgresql);
    // Nowhere: every output of this file, every command line seen, ConfigMaps, helm's records.
    const cms = JSON.stringify(await kube().list('v1', 'ConfigMap', ns));
    const helmAll = (await sh()`helm get all ${release} -n ${ns}`).stdout;
    for (const [where, text] of [
      ['outputs', outputs.join('\n')],
      ['process list', [...seen].join('\n')],
      ['ConfigMaps', cms],
      ['helm get all', helmAll],
    ] as const) {
      expect(text.includes(old), `old value found in ${where}`).toBe(false);
      expect(text.includes(now), `new value found in ${where}`).toBe(false);
    }
    expect(seen.size).toBeGreaterThan(10);
    // The rotation is recorded: deploying the same files again changes nothing and restarts nothing.
    const again = await deploy();
    assertSuccess(again);
    expect(again.stdout).toContain(`release ${release} in ${ns}: unchanged (no new revision)`);
    expect((await pods('backend')).map((p) => p.metadata!.name)).toEqual(after.backend);
  });

  describe('bad input: a one-line error, a documented exit code, the cluster unchanged', () => {
    let before: Awaited<ReturnType<typeof snapshot>>;
    beforeAll(async () => {
      before = await snapshot();
    });
    const badEnvDir = () => {
      const d = path.join(tmp, 'badenv');
      fs.mkdirSync(d, { recursive: true });
      fs.copyFileSync(path.join(envDir, 'testbed.env'), path.join(d, 'testbed.env'));
      fs.writeFileSync(path.join(d, '.env.local'), 'BETTER_AUTH_SECRET=x\nthis is not an env line\n');
      return d;
    };
    const cases: [string, () => Promise<RunResult>, number, RegExp][] = [
      ['unknown profile', () => go('deploy', ['--profile', 'nope']), 2, /^deploy: unknown profile "nope"/],
      [
        'bad image reference',
        () => deploy('--image', 'backend=Not A Ref!:1'),
        2,
        /^deploy: image "Not A Ref!:1": bad repository "Not A Ref!"/,
      ],
      [
        'scale backend -1',
        () => scale('backend', '-1'),
        2,
        /^scale: replicas must be between 0 and 10 \(TODO_SCALE_MAX\), got -1$/,
      ],
      ['scale backend abc', () => scale('backend', 'abc'), 2, /^scale: replicas must be a whole number, got "abc"$/],
      [
        'scale backend 100000',
        () => scale('backend', '100000'),
        2,
        /^scale: replicas must be between 0 and 10 \(TODO_SCALE_MAX\), got 100000$/,
      ],
      ['scale database 2', () => scale('database', '2'), 2, /^scale: cannot scale "database"/],
      ['config set NOPE=1', () => config('set', 'NOPE=1'), 2, /^config: unknown key NOPE/],
      [
        'config set BETTER_AUTH_SECRET= (empty)',
        () => config('set', 'BETTER_AUTH_SECRET='),
        2,
        /^config: BETTER_AUTH_SECRET: empty value refused$/,
      ],
      [
        'a values file with a schema error',
        () => deploy('-f', file('schema.yaml', 'backend:\n  replicaCount: lots\n')),
        2,
        /^deploy: the chart refuses these values: .*replicaCount/,
      ],
      [
        'an env file with a syntax error',
        () => go('deploy', [], { TODO_ENV_DIR: badEnvDir() }),
        2,
        /^deploy: .*\.env\.local:2: not KEY=VALUE/,
      ],
      [
        'a kube context that does not exist',
        () => deploy('--context', 'no-such-context'),
        3,
        /^deploy: context "no-such-context" not found in kubeconfig$/,
      ],
    ];
    for (const [name, runIt, code, line] of cases)
      it(name, async () => {
        const r = await runIt();
        assertFailure(r, code);
        expect(r.stderr.split('\n')[0]).toMatch(line);
        expect(r.stderr).not.toMatch(/^\s+at /m);
        expect(await snapshot()).toEqual(before);
      });

    it('a concurrent second run on the same release: exit 5', async () => {
      const child = spawn(process.execPath, [...tsNodeFlags(), zxCli, 'test/fixtures/locker.ts'], {
        cwd: repoRoot,
        env: { ...env, NO_COLOR: '1' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d) => ((out += d), /holding the lock/.test(out) && resolve()));
        child.on('close', () => reject(new Error(`locker ended: ${out}`)));
      });
      try {
        for (const r of [await deploy(), await scale('backend', '2'), await config('rotate', 'DEMO_PASSWORD')]) {
          assertFailure(r, 5);
          expect(r.stderr.split('\n')[0]).toMatch(/another locker run \(pid \d+\) holds the lock on release rel/);
        }
      } finally {
        child.stdin.end();
      }
      expect(await snapshot()).toEqual(before);
    });

    it('the API server going away mid-run: exit 3, no stack trace', async () => {
      // A loopback proxy to the bed that answers the first requests, then is gone.
      const upstream = new KubeConfig();
      upstream.loadFromFile(inject('kubeconfig'));
      const base = new URL(upstream.getCurrentCluster()!.server);
      const tls: https.RequestOptions = {};
      await upstream.applyToHTTPSOptions(tls);
      let budget = 4;
      const sockets = new Set<Socket>();
      const server = http.createServer((req, res) => {
        if (budget-- <= 0) {
          server.close();
          for (const s of sockets) s.destroy();
          return;
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
          (u) => {
            res.writeHead(u.statusCode ?? 502, u.headers);
            u.pipe(res);
          },
        );
        up.on('error', () => res.destroy());
        req.pipe(up);
      });
      server.on('connection', (s) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const kc = path.join(tmp, 'proxy-kubeconfig');
      fs.writeFileSync(
        kc,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          'current-context': 'proxy',
          clusters: [
            {
              name: 'proxy',
              cluster: {
                server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
                'insecure-skip-tls-verify': true,
              },
            },
          ],
          users: [{ name: 'proxy', user: {} }],
          contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'proxy' } }],
        }),
      );
      const r = await go('deploy', ['-f', path.join(tmp, 'crash.yaml')], { KUBECONFIG: kc });
      server.close();
      assertFailure(r, 3);
      expect(r.stderr.split('\n')[0]).toMatch(
        /^deploy: .*(cannot reach the Kubernetes API|unreachable|connection refused)/,
      );
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(await snapshot()).toEqual(before);
    });
  });
});
