// Drift, run as processes against the test bed: changes made by hand to the
// release's live objects (an image, a Service selector, container resources, a
// key removed from the app Secret) are seen by deploy --dry-run, config diff
// and alert, repaired by deploy (a new revision) and config rotate (the
// Secret); a chart refusal reaches the user in helm's own words. On the real
// node: self-heal re-applies a release whose image was set by hand to one that
// cannot be pulled, and rolls back a newest revision whose image cannot be pulled.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { V1Deployment, V1Pod, V1Secret, V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedEnv, deleteNamespace, fixture, kube, sh, tempNamespace } from '../helpers/cluster.ts';
import { makeEnvDir } from '../helpers/env-dir.ts';
import { assertFailure, assertSuccess, run, scratchEnv, type RunResult } from '../helpers/run.ts';

interface Doc {
  exitCode: number;
  actions: { what: string; target: string; status: string; detail?: string; reason: string }[];
  findings: { name: string; level: string; detail: string; object?: { kind: string; name: string } }[];
  data: Record<string, any>;
}

describe('drift on the test bed: seen by deploy --dry-run, config diff and alert; repaired by deploy and config rotate', () => {
  const release = 'dr';
  const ns = `drift-${process.pid}`;
  const secretName = `${release}-app-secrets`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-drift-'));
  let env: NodeJS.ProcessEnv;
  const k = kube();
  const go = (script: string, args: string[], extra: NodeJS.ProcessEnv = {}): Promise<RunResult> =>
    run(script, args, { env: { ...env, ...extra }, timeoutMs: 170_000 });
  const deploy = (...args: string[]) => go('scripts/deploy.ts', args);
  const config = (...args: string[]) => go('scripts/config.ts', args);
  const alert = (...args: string[]) => go('ops/alert.ts', ['-o', 'json', ...args]);
  const history = async () =>
    (await sh()`helm history ${release} -n ${ns} -o json`).json() as { revision: number; status: string }[];
  const dep = async (c: string) => (await k.read<V1Deployment>('apps/v1', 'Deployment', `${release}-${c}`, ns))!;
  const container = async (c: string) => (await dep(c)).spec!.template.spec!.containers.find((x) => x.name === c)!;
  const selector = async () => (await k.read<V1Service>('v1', 'Service', `${release}-frontend`, ns))!.spec!.selector!;
  const secretKeys = async () => Object.keys((await k.read<V1Secret>('v1', 'Secret', secretName, ns))!.data ?? {});
  const drift = (d: Doc) => d.findings.filter((f) => f.name === 'drift').map((f) => f.detail);

  /** The four changes by hand the issue names. */
  const driftByHand = async () => {
    await sh()`kubectl -n ${ns} set image deployment/${release}-backend backend=localhost/by-hand:1`;
    await sh()`kubectl -n ${ns} patch service ${release}-frontend --type merge -p ${'{"spec":{"selector":{"app.kubernetes.io/component":"nobody"}}}'}`;
    await sh()`kubectl -n ${ns} set resources deployment/${release}-frontend -c frontend --limits=cpu=777m`;
    await sh()`kubectl -n ${ns} patch secret ${secretName} --type json -p ${'[{"op":"remove","path":"/data/BETTER_AUTH_SECRET"}]'}`;
  };

  beforeAll(async () => {
    const envDir = makeEnvDir(tmp, { values: 'frontend:\n  autoscaling:\n    enabled: false\n' });
    env = {
      ...bedEnv(),
      ...scratchEnv({
        TODO_ENV_DIR: envDir,
        TODO_NAMESPACE: ns,
        TODO_RELEASE: release,
        TODO_TIMEOUT: '60',
        TODO_DEPLOY_SETTLE: '2',
        TODO_ALERT_FOR: 'service-endpoints=0s,release-drift=0s',
        TODO_ALERT_RULES: 'service-endpoints,release-drift,replicas-mismatch',
      }),
    };
    assertSuccess(await deploy());
  }, 180_000);
  afterAll(() => deleteNamespace(ns));

  it('a release as deployed: no drift (22 objects compared), deploy unchanged, config diff clean, alert "no alert firing (3 rules checked)"', async () => {
    const r = await deploy('-o', 'json');
    assertSuccess(r);
    const doc = r.json<Doc>();
    expect(doc.data.unchanged).toBe(true);
    expect(doc.data.drift).toMatchObject({ items: [], unchecked: [] });
    expect(doc.data.drift.checked).toBeGreaterThanOrEqual(15);
    const d = (await config('diff', '-o', 'json')).json<Doc>();
    expect(d.findings).toContainEqual(
      expect.objectContaining({ name: 'config', level: 'ok', detail: expect.stringMatching(/live objects match it/) }),
    );
    const a = await alert();
    assertSuccess(a);
    expect(a.json<Doc>().findings).toContainEqual(
      expect.objectContaining({ name: 'alerts', level: 'ok', detail: 'no alert firing (3 rules checked)' }),
    );
    const status = await alert('status');
    expect(status.json<Doc>().findings).toContainEqual(
      expect.objectContaining({ detail: 'no alert firing (3 rules checked)' }),
    );
  }, 120_000);

  it('image, selector, resources and a Secret key changed by hand: deploy --dry-run and config diff name object, field, live and desired; alert fires both new rules; deploy repairs all (new revision) and says so; alert resolves', async () => {
    const before = (await history()).length;
    await driftByHand();

    const dry = await deploy('--dry-run', '-o', 'json');
    assertSuccess(dry);
    const plan = dry.json<Doc>();
    expect(drift(plan)).toEqual([
      `Deployment/${release}-backend spec.template.spec.containers[backend].image: live "localhost/by-hand:1", desired "todo-chatbot-backend:0.1.0"`,
      `Deployment/${release}-frontend spec.template.spec.containers[frontend].resources.limits.cpu: live "777m", desired "500m"`,
      `Service/${release}-frontend spec.selector["app.kubernetes.io/component"]: live "nobody", desired "frontend"`,
    ]);
    expect(plan.data.unchanged).toBe(false);
    expect(plan.actions.map((a) => [a.what, a.status])).toEqual([
      ['restore secret keys', 'planned'],
      ['helm upgrade', 'planned'],
    ]);
    expect(plan.actions[1]!.reason).toContain(
      `live objects drifted (repaired by the upgrade): Deployment/${release}-backend, Deployment/${release}-frontend, Service/${release}-frontend`,
    );
    expect(plan.findings).toContainEqual(
      expect.objectContaining({
        name: 'secret repaired',
        detail: expect.stringMatching(/had lost BETTER_AUTH_SECRET: would be restored/),
      }),
    );
    expect(await secretKeys()).not.toContain('BETTER_AUTH_SECRET'); // a dry run

    const diff = await config('diff', '-o', 'json');
    const d = diff.json<Doc>();
    expect(drift(d)).toEqual(drift(plan));
    expect(d.findings).toContainEqual(
      expect.objectContaining({ name: 'BETTER_AUTH_SECRET', detail: expect.stringMatching(/deployed \(unset\)$/) }),
    );

    const fired = await alert();
    const firing = fired.json<Doc>().data.firing as string[];
    expect(firing).toEqual(
      expect.arrayContaining([
        `service-endpoints:service/${release}-frontend`,
        `release-drift:deployment/${release}-backend`,
        `release-drift:deployment/${release}-frontend`,
        `release-drift:service/${release}-frontend`,
      ]),
    );
    expect(fired.status).toBe(1);

    const r = await deploy('-o', 'json');
    assertSuccess(r);
    const done = r.json<Doc>();
    expect(done.data.unchanged).toBe(false);
    expect(done.actions.map((a) => [a.what, a.status])).toEqual([
      ['restore secret keys', 'done'],
      ['helm upgrade', 'done'],
    ]);
    expect(done.actions[1]!.detail).toMatch(
      new RegExp(
        `^revision ${before + 1}, rolled out; drift repaired: Deployment/${release}-backend, Deployment/${release}-frontend, Service/${release}-frontend$`,
      ),
    );
    expect(done.findings.some((f) => f.level === 'fail')).toBe(false);
    expect((await history()).length).toBe(before + 1);
    expect((await container('backend')).image).toBe('todo-chatbot-backend:0.1.0');
    expect((await container('frontend')).resources!.limits!.cpu).toBe('500m');
    expect((await selector())['app.kubernetes.io/component']).toBe('frontend');
    expect(await secretKeys()).toContain('BETTER_AUTH_SECRET');
    expect(r.stdout + r.stderr).not.toMatch(/Use --debug/);

    const again = (await deploy('-o', 'json')).json<Doc>();
    expect(again.data.unchanged).toBe(true);
    expect(again.data.drift.items).toEqual([]);

    const resolved = await alert();
    assertSuccess(resolved);
    const notices = resolved.json<Doc>().data.notices as { kind: string; key: string }[];
    expect(notices.filter((n) => n.kind === 'resolved').map((n) => n.key)).toEqual(
      expect.arrayContaining([
        `service-endpoints:service/${release}-frontend`,
        `release-drift:deployment/${release}-backend`,
      ]),
    );
  }, 170_000);

  it("config rotate with a key gone from the Secret: restores it (and says so), rotates, and shows doctor's failures only", async () => {
    await sh()`kubectl -n ${ns} patch secret ${secretName} --type json -p ${'[{"op":"remove","path":"/data/DEMO_PASSWORD"}]'}`;
    const text = await config('rotate', 'BETTER_AUTH_SECRET');
    assertSuccess(text);
    expect(text.stdout).toMatch(/had lost DEMO_PASSWORD: restored/);
    expect(text.stdout).toMatch(/done: restore secret keys secret\/dr-app-secrets/);
    // doctor passed: its table (tools, cluster, metrics...) is not printed.
    expect(text.stdout).not.toMatch(/tool helm|tool kubectl|image builder/);
    expect(await secretKeys()).toEqual(expect.arrayContaining(['BETTER_AUTH_SECRET', 'DEMO_PASSWORD']));
    expect(text.stdout + text.stderr).not.toMatch(/Use --debug|chart refuses these values/);
  }, 120_000);

  it('a chart refusal reaches the user in helm\'s own words, never only "Use --debug"', async () => {
    const bad = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(bad, 'backend:\n  autoscaling:\n    enabled: true\n    minReplicas: 5\n    maxReplicas: 2\n');
    const r = await deploy('-f', bad);
    assertFailure(r, 2);
    expect(r.stderr).toContain(
      'the chart refuses these values: backend.autoscaling.minReplicas (5) is greater than backend.autoscaling.maxReplicas (2)',
    );
    expect(r.stderr).not.toMatch(/Use --debug/);
  }, 60_000);
});

describe('self-heal on the real node: drift into failure re-applied; a newest revision whose image cannot be pulled rolled back', () => {
  const release = 'dh';
  let ns = '';
  let env: NodeJS.ProcessEnv;
  const k = kube();
  const selfHeal = (...args: string[]) => run('ops/self-heal.ts', ['-o', 'json', ...args], { env, timeoutMs: 150_000 });
  const live = (ps: readonly V1Pod[]) => ps.filter((p) => !p.metadata?.deletionTimestamp);
  const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const waitPods = async (what: string, done: (ps: readonly V1Pod[]) => boolean) =>
    live(
      await k.waitFor<V1Pod>({
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: ns,
        labelSelector: `app=${release}-web`,
        timeoutSec: 90,
        done: (ps) => done(live(ps)),
        describe: (ps) =>
          `${what}: ${JSON.stringify(live(ps).map((p) => [p.spec?.containers[0]?.image, p.status?.containerStatuses?.[0]?.state]))}`,
      }),
    );
  const cannotPull = (ps: readonly V1Pod[]) =>
    ps.some((p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImageNeverPull');
  const good = 'localhost/todo-chatbot-backend:images-test';
  const servingGood = (ps: readonly V1Pod[]) =>
    ps.length === 1 && ready(ps[0]!) && ps[0]!.spec!.containers[0]!.image === good;
  const history = async () =>
    (await sh()`helm history ${release} -n ${ns} -o json`).json() as {
      revision: number;
      status: string;
      description: string;
    }[];

  beforeAll(async () => {
    ns = await tempNamespace('drift-heal');
    env = {
      ...bedEnv(),
      ...scratchEnv({ TODO_NAMESPACE: ns, TODO_RELEASE: release, TODO_TIMEOUT: '90' }),
    };
    await sh()`helm install ${release} ${fixture('self-heal-chart')} -n ${ns} --wait --timeout 90s`;
    const r = await selfHeal();
    assertSuccess(r);
    expect(r.json<Doc>().data.healthyRevision).toBe(1);
  }, 150_000);
  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it("an image set by hand that cannot be pulled: --dry-run shows the re-apply, the run does it (a new revision), the pods serve the release's image again", async () => {
    await sh()`kubectl -n ${ns} set image deployment/${release}-web web=localhost/todo-ops-missing:1`;
    await waitPods('a pod of the hand-set image that cannot be pulled', cannotPull);

    const dry = await selfHeal('--dry-run');
    expect(dry.json<Doc>().actions, dry.output).toEqual([
      expect.objectContaining({ what: 'helm re-apply', target: `release/${release}`, status: 'planned' }),
    ]);
    expect((await history()).length).toBe(1);

    const r = await selfHeal();
    const doc = r.json<Doc>();
    expect(doc.actions, r.output).toEqual([
      expect.objectContaining({
        what: 'helm re-apply',
        target: `release/${release}`,
        status: 'done',
        detail: 're-applied revision 1',
      }),
    ]);
    expect(doc.actions[0]!.reason).toContain(`Deployment/${release}-web spec.template.spec.containers[web].image`);
    expect((await history()).at(-1)).toMatchObject({ revision: 2, status: 'deployed', description: 'Rollback to 1' });
    await waitPods('only the release image, Ready', servingGood);
    const audit = fs
      .readFileSync(
        path.join(env.TODO_STATE_DIR!, fs.readdirSync(env.TODO_STATE_DIR!)[0]!, ns, 'self-heal.jsonl'),
        'utf8',
      )
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { decision: string; step?: string; status?: string; dryRun?: boolean });
    expect(audit.filter((a) => a.step === 'reapply' && !a.dryRun)).toEqual([
      expect.objectContaining({ decision: 'act', status: 'done' }),
    ]);
    // Healthy again: the next run remembers revision 2 as the rollback target.
    const calm = await selfHeal();
    assertSuccess(calm);
    expect(calm.json<Doc>().data.healthyRevision).toBe(2);
  }, 150_000);

  it('a newest revision whose image cannot be pulled is rolled back to the last healthy one', async () => {
    await sh()`helm upgrade ${release} ${fixture('self-heal-chart')} -n ${ns} --set image=localhost/todo-ops-missing:2`;
    await waitPods('the new revision cannot pull its image', cannotPull);
    const r = await selfHeal();
    const doc = r.json<Doc>();
    expect(doc.actions, r.output).toEqual([
      expect.objectContaining({
        what: 'helm rollback',
        target: `release/${release}`,
        status: 'done',
        detail: 'rolled back to revision 2',
      }),
    ]);
    expect((await history()).at(-1)).toMatchObject({ revision: 4, status: 'deployed', description: 'Rollback to 2' });
    await waitPods('revision 2 only, Ready', servingGood);
  }, 150_000);
});
