// Drift on plain data: the comparison of a rendered object, the server's
// dry-run apply of it and the live object (scripts/lib/release/drift.ts);
// deploy's plan with drift and a Secret that lost a key; helm's own reason
// picked out of its stderr; the env file the secrets step writes and names.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { profileSecretsFile } from '../../scripts/lib/release/secrets-file.ts';
import { compareObject, driftLine, hpaTargets, type DriftItem } from '../../scripts/lib/release/drift.ts';
import type { ManifestObject } from '../../scripts/lib/release/manifests.ts';
import { helmReason } from '../../scripts/lib/release/helm.ts';
import { planDeploy, planSecretRepair } from '../../scripts/deploy/plan.ts';

const deployment = (o: { image?: string; cpu?: string; replicas?: number; extra?: object } = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'ns',
    labels: { 'app.kubernetes.io/instance': 'rel' },
    annotations: { 'deployment.kubernetes.io/revision': '3', 'meta.helm.sh/release-name': 'rel' },
    resourceVersion: '100',
    generation: 4,
    uid: 'u-1',
    managedFields: [{ manager: 'helm' }],
  },
  spec: {
    replicas: o.replicas ?? 2,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: o.image ?? 'web:1',
            imagePullPolicy: 'IfNotPresent',
            resources: { limits: { cpu: o.cpu ?? '500m' } },
            env: [{ name: 'A', value: '1' }],
          },
          { name: 'sidecar', image: 'side:1' },
        ],
      },
    },
    ...o.extra,
  },
  status: { readyReplicas: 1, observedGeneration: 4 },
});
const rendered = (x: object = {}): ManifestObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: { template: { spec: { containers: [{ name: 'web', image: 'web:1' }] } } },
  ...x,
});

describe('compareObject', () => {
  it('no drift: the dry run equals the live object (status, managedFields, resourceVersion and defaults aside)', () => {
    const live = deployment();
    const applied = { ...deployment(), metadata: { ...deployment().metadata, resourceVersion: '101', generation: 5 } };
    expect(compareObject(rendered(), applied, live)).toEqual([]);
  });

  it('an image and a limit changed by hand: one finding each, with the object, the field, live and desired values', () => {
    const live = deployment({ image: 'web:hand', cpu: '777m' });
    const applied = { ...deployment(), status: {} };
    expect(compareObject(rendered(), applied, live)).toEqual([
      {
        object: 'Deployment/web',
        path: 'spec.template.spec.containers[web].image',
        live: '"web:hand"',
        desired: '"web:1"',
      },
      {
        object: 'Deployment/web',
        path: 'spec.template.spec.containers[web].resources.limits.cpu',
        live: '"777m"',
        desired: '"500m"',
      },
    ]);
  });

  it('containers are matched by name: a reordering is no drift', () => {
    const live = deployment();
    const applied = deployment();
    applied.spec.template.spec.containers.reverse();
    expect(compareObject(rendered(), applied, live)).toEqual([]);
  });

  it("replicas: drift unless an HPA of the release owns them (then they are the HPA's)", () => {
    const live = deployment({ replicas: 5 });
    const applied = deployment({ replicas: 2 });
    expect(compareObject(rendered(), applied, live).map((d) => d.path)).toEqual(['spec.replicas']);
    expect(compareObject(rendered(), applied, live, { replicasOwnedElsewhere: true })).toEqual([]);
    expect(
      hpaTargets([
        {
          apiVersion: 'autoscaling/v2',
          kind: 'HorizontalPodAutoscaler',
          metadata: { name: 'web' },
          spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' } },
        },
      ]),
    ).toEqual(new Set(['Deployment/web']));
  });

  it('a Service selector key patched and one added by hand (selector is replaced whole by an apply): both named, dotted keys quoted', () => {
    const svc = (sel: Record<string, string>) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'ns' },
      spec: { selector: sel, ports: [{ port: 80, targetPort: 'http', protocol: 'TCP', name: 'http' }] },
    });
    const r: ManifestObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: {} };
    const d = compareObject(
      r,
      svc({ 'app.kubernetes.io/component': 'web' }),
      svc({ 'app.kubernetes.io/component': 'nobody', extra: 'x' }),
    );
    expect(d.map(driftLine)).toEqual([
      'Service/web spec.selector["app.kubernetes.io/component"]: live "nobody", desired "web"',
      'Service/web spec.selector.extra: live "x", desired (absent)',
    ]);
  });

  it('a Secret of the release: values never shown, only that they differ', () => {
    const sec = (v: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { PASSWORD: v } });
    const r: ManifestObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } };
    const d = compareObject(r, sec('c2VjcmV0'), sec('aHVudGVyMg=='));
    expect(d).toEqual([
      { object: 'Secret/s', path: 'data.PASSWORD', live: '(hidden)', desired: '(hidden)', secret: true },
    ]);
    expect(driftLine(d[0]!)).toBe('Secret/s data.PASSWORD: value differs');
    expect(JSON.stringify(d)).not.toMatch(/c2VjcmV0|aHVudGVyMg|hunter/);
  });

  it('an object deleted from the cluster is drift; long values are cut', () => {
    const d = compareObject(rendered(), undefined, undefined);
    expect(d).toEqual([{ object: 'Deployment/web', path: '', live: '(missing)', desired: '(present)' }]);
    expect(driftLine(d[0]!)).toBe('Deployment/web: deleted from the cluster');
    const long: DriftItem[] = compareObject(
      rendered(),
      deployment({ image: 'x'.repeat(200) }),
      deployment({ image: 'y' }),
    );
    expect(long[0]!.desired.length).toBeLessThanOrEqual(80);
  });
});

describe('deploy plan with drift and a broken Secret', () => {
  const manifest = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec: {}\n';
  const desired = {
    release: 'rel',
    namespace: 'ns',
    secretName: 'rel-app-secrets',
    secretData: { BETTER_AUTH_SECRET: 'a', DEMO_PASSWORD: 'b' },
    values: { x: 1 },
    manifest,
    namespaceLabels: {},
  };
  const observed = {
    namespaceExists: true,
    liveSecret: { BETTER_AUTH_SECRET: 'a', DEMO_PASSWORD: 'b' },
    history: [{ revision: 2, status: 'deployed' }],
    deployed: { manifest, values: { x: 1 } },
  };

  it('nothing differs and nothing drifted: unchanged; drift alone: a helm upgrade naming the drifted objects', () => {
    expect(planDeploy(observed, desired).unchanged).toBe(true);
    const p = planDeploy(
      {
        ...observed,
        drift: [
          { object: 'Deployment/web', path: 'a', live: '1', desired: '2' },
          { object: 'Deployment/web', path: 'b', live: '1', desired: '2' },
          { object: 'Service/web', path: 'c', live: '1', desired: '2' },
        ],
      },
      desired,
    );
    expect(p.unchanged).toBe(false);
    expect(p.actions).toEqual([
      expect.objectContaining({
        what: 'helm upgrade',
        target: 'release/rel',
        reason: 'live objects drifted (repaired by the upgrade): Deployment/web, Service/web',
      }),
    ]);
  });

  it('a required key gone from the live Secret: restored first (the chart refuses to render without it), with its origin; none when nothing is missing', () => {
    const a = planSecretRepair({ DEMO_PASSWORD: 'b' }, desired.secretData, 'rel-app-secrets', {
      BETTER_AUTH_SECRET: '(sha256:ca9781, from env/.env.local)',
    });
    expect(a).toMatchObject({
      what: 'restore secret keys',
      target: 'secret/rel-app-secrets',
      params: { kind: 'secret', changes: [{ key: 'BETTER_AUTH_SECRET', change: 'added' }] },
    });
    expect(a!.reason).toContain('BETTER_AUTH_SECRET (sha256:ca9781, from env/.env.local)');
    expect(a!.reason).not.toContain("'a'");
    expect(planSecretRepair(observed.liveSecret, desired.secretData, 's', {})).toBeUndefined();
    expect(planSecretRepair(undefined, desired.secretData, 's', {})).toBeUndefined(); // a first install creates it
    // An optional key missing is no repair: deploy's ordinary Secret update handles it.
    expect(
      planSecretRepair(observed.liveSecret, { ...desired.secretData, OPENAI_API_KEY: 'k' }, 's', {}),
    ).toBeUndefined();
  });
});

describe('helmReason', () => {
  it("a template's fail: the message, without the --debug advice helm prints last", () => {
    expect(
      helmReason(
        'Error: execution error at (todo-chatbot/templates/validate.yaml:64:4): secrets.existingSecret rel-app-secrets has no BETTER_AUTH_SECRET key: add it\n\nUse --debug flag to render out invalid YAML\n',
      ),
    ).toBe('secrets.existingSecret rel-app-secrets has no BETTER_AUTH_SECRET key: add it');
  });
  it('a schema error: the header and every offending value on one line', () => {
    expect(
      helmReason(
        "Error: values don't meet the specifications of the schema(s) in the following chart(s):\ntodo-chatbot:\n- at '/backend/replicaCount': got string, want integer\n",
      ),
    ).toBe(
      "values don't meet the specifications of the schema(s) in the following chart(s): todo-chatbot: - at '/backend/replicaCount': got string, want integer",
    );
  });
  it('an upgrade failure and warnings before it; no Error line: the last line', () => {
    expect(
      helmReason(
        'WARNING: Kubernetes configuration file is group-readable\nError: UPGRADE FAILED: another operation is in progress\n',
      ),
    ).toBe('another operation is in progress');
    expect(helmReason('something odd\nlast words\n')).toBe('last words');
  });
});

describe('the env file the secrets step writes and names', () => {
  const saved = process.env.TODO_ENV_DIR;
  afterEach(() => {
    if (saved === undefined) delete process.env.TODO_ENV_DIR;
    else process.env.TODO_ENV_DIR = saved;
  });
  it("the file that already sets the key; else the profile's own env/<profile>.env.local when it has one; else env/.env.local", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-envf-'));
    process.env.TODO_ENV_DIR = dir;
    expect(profileSecretsFile('testbed', 'DEMO_PASSWORD')).toBe(path.join(dir, '.env.local'));
    fs.writeFileSync(path.join(dir, 'testbed.env.local'), 'TODO_NAMESPACE=x\n');
    expect(profileSecretsFile('testbed', 'DEMO_PASSWORD')).toBe(path.join(dir, 'testbed.env.local'));
    expect(profileSecretsFile('minikube', 'DEMO_PASSWORD')).toBe(path.join(dir, '.env.local'));
    fs.writeFileSync(path.join(dir, '.env.local'), 'DEMO_PASSWORD=kept-here\n');
    expect(profileSecretsFile('testbed', 'DEMO_PASSWORD')).toBe(path.join(dir, '.env.local'));
  });
});
