// The pure decisions of deploy, scale and config, on plain data.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planDeploy, podSecurityLabels, type DeployDesired } from '../../scripts/deploy/plan.ts';
import { negativeNumbersAsPositionals, parseScaleArgs, pdbFloor, planScale } from '../../scripts/scale/plan.ts';
import {
  classifyKey,
  diffConfig,
  parseAssignments,
  planRotate,
  readsSecretKey,
  assignmentValue,
  checkUnset,
} from '../../scripts/config/plan.ts';
import { desiredSecretData, fingerprint, secretChanges } from '../../scripts/lib/release/secrets.ts';
import { parseImageFlags, parseImageRef } from '../../scripts/lib/release/images.ts';
import { changedPaths, coerceValue, mergeValues, schemaAt } from '../../scripts/lib/release/values.ts';
import { diffManifests } from '../../scripts/lib/release/manifests.ts';
import { carriedScaleValues } from '../../scripts/lib/release/scale-marker.ts';
import { editEnvText } from '../../scripts/lib/kit/env-files.ts';
import { suiteSettings } from '../../scripts/lib/main.ts';
import zlib from 'node:zlib';
import { decodeHelmRecord, historyOf } from '../../scripts/lib/release/history.ts';
import { repoRoot } from '../helpers/run.ts';

const valuesSchema = JSON.parse(fs.readFileSync(path.join(repoRoot, 'charts/todo-chatbot/values.schema.json'), 'utf8'));

const dep = (name: string, image = 'app:1', extra = '') => `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  template:
    spec:
      containers:
        - name: c
          image: ${image}${extra}
`;
const hook = `---
apiVersion: v1
kind: Pod
metadata:
  name: t
  annotations:
    helm.sh/hook: test
`;

describe('scripts/lib/release helpers', () => {
  it('fingerprints are the first 6 hex of the SHA-256, never the value', () => {
    expect(fingerprint('secret')).toBe('sha256:2bb80d');
    expect(fingerprint('')).toBe('(unset)');
    expect(fingerprint(undefined)).toBe('(unset)');
  });

  it('the Secret data holds the set keys only; changes are reported by fingerprint', () => {
    expect(
      desiredSecretData({ BETTER_AUTH_SECRET: 'a', DEMO_PASSWORD: 'b', OPENAI_API_KEY: '', DATABASE_URL: 'u' }),
    ).toEqual({ BETTER_AUTH_SECRET: 'a', DEMO_PASSWORD: 'b', DATABASE_URL: 'u' });
    const ch = secretChanges(
      { BETTER_AUTH_SECRET: 'a', OPENAI_API_KEY: 'k' },
      { BETTER_AUTH_SECRET: 'z', DEMO_PASSWORD: 'b' },
    );
    expect(ch.map((c) => [c.key, c.change])).toEqual([
      ['BETTER_AUTH_SECRET', 'changed'],
      ['DEMO_PASSWORD', 'added'],
      ['OPENAI_API_KEY', 'removed'],
    ]);
    expect(JSON.stringify(ch)).not.toMatch(/"(a|z|b|k)"/);
    expect(secretChanges({ A: '1' }, { A: '1' })).toEqual([]);
  });

  it('image references: registry, repository and tag; no tag, latest and bad names are refused', () => {
    expect(parseImageRef('todo-chatbot-backend:3f2a1bc')).toEqual({
      registry: '',
      repository: 'todo-chatbot-backend',
      tag: '3f2a1bc',
    });
    expect(parseImageRef('registry.example.com:5000/team/todo-chatbot-backend:v1.2')).toEqual({
      registry: 'registry.example.com:5000/team',
      repository: 'todo-chatbot-backend',
      tag: 'v1.2',
    });
    expect(parseImageRef('localhost/app:1')).toEqual({ registry: 'localhost', repository: 'app', tag: '1' });
    expect(() => parseImageRef('app')).toThrow(/no tag/);
    expect(() => parseImageRef('app:latest')).toThrow(/bad tag/);
    expect(() => parseImageRef('Bad Image!:1')).toThrow(/bad repository/);
    expect(() => parseImageRef('app:')).toThrow(/bad tag/);
    expect(parseImageFlags(['backend=a:1'])).toEqual({ backend: 'a:1' });
    expect(() => parseImageFlags(['database=a:1'])).toThrow(/frontend=REF or backend=REF/);
  });

  it('values merge like helm layers them; changed paths are leaves', () => {
    const m = mergeValues({ a: { b: 1, c: [1] }, d: 1 }, { a: { b: 2, c: [2] } }, undefined);
    expect(m).toEqual({ a: { b: 2, c: [2] }, d: 1 });
    expect(changedPaths({ a: { b: 1, x: 1 } }, { a: { b: 2, x: 1 }, y: 1 })).toEqual(['a.b', 'y']);
  });

  it('the values schema knows the chart keys and types', () => {
    expect(schemaAt(valuesSchema, 'backend.config.logLevel')).toBeTruthy();
    expect(schemaAt(valuesSchema, 'backend.nope')).toBeUndefined();
    expect(coerceValue(schemaAt(valuesSchema, 'backend.replicaCount') as never, 'backend.replicaCount', '3')).toBe(3);
    expect(() =>
      coerceValue(schemaAt(valuesSchema, 'backend.replicaCount') as never, 'backend.replicaCount', 'abc'),
    ).toThrow(/integer/);
    expect(() =>
      coerceValue(schemaAt(valuesSchema, 'backend.replicaCount') as never, 'backend.replicaCount', '-1'),
    ).toThrow(/at least 0/);
  });

  it('manifest diff: per object, hooks left out, changed lines shown', () => {
    const a = dep('web') + dep('api') + hook;
    expect(diffManifests(a, dep('api') + dep('web'))).toEqual({ added: [], removed: [], changed: [] });
    const d = diffManifests(a, dep('web') + dep('api', 'app:2') + dep('new'));
    expect(d.added).toEqual(['Deployment/new']);
    expect(d.changed.map((c) => c.object)).toEqual(['Deployment/api']);
    expect(d.changed[0]!.lines).toEqual([
      '          - name: c',
      '-           image: app:1',
      '+           image: app:2',
      '  ',
    ]);
    // Changes far apart are separate hunks, one context line each side.
    const labelled = (app: string, image: string) =>
      dep('api', image).replace(
        'spec:\n  template:',
        `spec:\n  selector:\n    matchLabels:\n      app: ${app}\n  template:`,
      );
    expect(diffManifests(labelled('a', 'app:1'), labelled('b', 'app:2')).changed[0]!.lines).toEqual([
      '      matchLabels:',
      '-       app: a',
      '+       app: b',
      '    template:',
      '  ...',
      '          - name: c',
      '-           image: app:1',
      '+           image: app:2',
      '  ',
    ]);
  });

  it('env files: a key replaced in place or appended, removed; unsafe values refused', () => {
    expect(editEnvText('# c\nA=1\nB=2\n', 'A', 'x')).toBe('# c\nA=x\nB=2\n');
    expect(editEnvText('A=1\n', 'C', 'with space')).toBe("A=1\nC='with space'\n");
    expect(editEnvText('A=1\nB=2\n', 'A', undefined)).toBe('B=2\n');
    expect(editEnvText('', 'A', 'v')).toBe('A=v\n');
    expect(() => editEnvText('', 'A', 'a\nb')).toThrow(/multi-line/);
  });

  it('deploy keeps exactly the replica values scale recorded', () => {
    expect(
      carriedScaleValues({
        backend: { replicaCount: 3, image: { tag: 'x' } },
        global: { todoOpsScaled: ['backend.replicaCount'] },
      }),
    ).toEqual({
      backend: { replicaCount: 3 },
      global: { todoOpsScaled: ['backend.replicaCount'] },
    });
    expect(carriedScaleValues({ backend: { replicaCount: 3 } })).toEqual({});
    expect(carriedScaleValues(undefined)).toEqual({});
  });
});

describe('helm release records', () => {
  it('a record (Secret data: base64 of base64 of gzip of JSON) decodes to its manifest, values and history entry', () => {
    const rec = {
      version: 3,
      info: { status: 'deployed', description: 'Upgrade complete', last_deployed: '2026-11-27T12:00:00Z' },
      chart: { metadata: { name: 'todo-chatbot', version: '0.1.0', appVersion: '0.1.0' } },
      config: { a: 1 },
      manifest: 'kind: X',
    };
    const data = Buffer.from(zlib.gzipSync(JSON.stringify(rec)).toString('base64')).toString('base64');
    const d = decodeHelmRecord(data);
    expect(d).toEqual(rec);
    expect(historyOf([d])).toEqual([
      {
        revision: 3,
        updated: '2026-11-27T12:00:00Z',
        status: 'deployed',
        chart: 'todo-chatbot-0.1.0',
        app_version: '0.1.0',
        description: 'Upgrade complete',
      },
    ]);
  });
});

describe('planDeploy', () => {
  const desired = (o: Partial<DeployDesired> = {}): DeployDesired => ({
    release: 'r',
    namespace: 'ns',
    secretName: 'r-app-secrets',
    secretData: { BETTER_AUTH_SECRET: 'a', DEMO_PASSWORD: 'b' },
    values: { x: 1 },
    manifest: dep('r-api'),
    namespaceLabels: podSecurityLabels(),
    ...o,
  });
  const installed = {
    namespaceExists: true,
    liveSecret: { BETTER_AUTH_SECRET: 'a', DEMO_PASSWORD: 'b' },
    history: [
      { revision: 1, status: 'superseded' },
      { revision: 2, status: 'deployed' },
    ],
    deployed: { manifest: dep('r-api'), values: { x: 1 } },
  };

  it('nothing changed: no action at all (no revision, no restart)', () => {
    const p = planDeploy(installed, desired());
    expect(p.unchanged).toBe(true);
    expect(p.actions).toEqual([]);
    expect(p.previousRevision).toBe(2);
  });

  it('a fresh install: namespace with Pod Security labels, Secret, helm install', () => {
    const p = planDeploy({ namespaceExists: false, history: [] }, desired());
    expect(p.actions.map((a) => a.what)).toEqual(['create namespace', 'create secret', 'helm install']);
    expect(
      (p.actions[0]!.params as { labels: Record<string, string> }).labels['pod-security.kubernetes.io/enforce'],
    ).toBe('restricted');
    expect(p.previousRevision).toBeUndefined();
    expect(JSON.stringify(p.actions)).not.toMatch(/"a"|"b"/);
  });

  it('a changed image upgrades; the reason names the object and the value', () => {
    const p = planDeploy(installed, desired({ manifest: dep('r-api', 'app:2'), values: { x: 2 } }));
    expect(p.actions.map((a) => a.what)).toEqual(['helm upgrade']);
    expect(p.actions[0]!.reason).toMatch(/manifest differs: Deployment\/r-api; values differ: x/);
  });

  it('a changed secret updates the Secret and upgrades (the checksum rolls its readers)', () => {
    const p = planDeploy(installed, desired({ secretData: { BETTER_AUTH_SECRET: 'new', DEMO_PASSWORD: 'b' } }));
    expect(p.actions.map((a) => a.what)).toEqual(['update secret', 'helm upgrade']);
    expect(p.actions[0]!.reason).toBe(`BETTER_AUTH_SECRET changed ${fingerprint('a')} -> ${fingerprint('new')}`);
  });

  it('a failed latest revision is upgraded even when the manifest matches', () => {
    const p = planDeploy(
      {
        ...installed,
        history: [
          { revision: 1, status: 'deployed' },
          { revision: 2, status: 'failed' },
        ],
      },
      desired(),
    );
    expect(p.actions.map((a) => a.what)).toEqual(['helm upgrade']);
    expect(p.previousRevision).toBe(1);
  });
});

describe('scale planning', () => {
  it('argv: a negative count is a positional (the script path is handled by scripts/lib/kit/cli.ts scriptArgv)', () => {
    expect(negativeNumbersAsPositionals(['backend', '-1', '--yes'])).toEqual(['backend', '--yes', '--', '-1']);
    expect(negativeNumbersAsPositionals(['backend', '2'])).toEqual(['backend', '2']);
  });

  it('bad counts and components are one-line usage errors', () => {
    expect(parseScaleArgs(['backend', '3'], 10)).toEqual({ component: 'backend', replicas: 3 });
    for (const [args, msg] of [
      [['backend', '-1'], /between 0 and 10/],
      [['backend', 'abc'], /whole number/],
      [['backend', '100000'], /between 0 and 10/],
      [['database', '2'], /only frontend and backend/],
      [['backend'], /expected: frontend\|backend N/],
    ] as const)
      expect(() => parseScaleArgs([...args], 10)).toThrow(msg);
  });

  const base = { replicas: 1, ready: 1, values: { backend: { replicaCount: 1 } } };
  it('without an HPA: replicaCount in the release values, recorded for deploy; 0 is destructive', () => {
    const p = planScale(base, 'backend', 3, { force: false, deployment: 'r-backend' });
    expect(p.before).toEqual({ replicas: 1 });
    expect(p.after).toEqual({ replicas: 3 });
    expect(p.actions[0]!.params!.values).toMatchObject({
      backend: { replicaCount: 3 },
      global: { todoOpsScaled: ['backend.replicaCount'] },
    });
    expect(planScale(base, 'backend', 0, { force: false, deployment: 'r-backend' }).actions[0]!.destructive).toBe(true);
    expect(
      planScale({ ...base, replicas: 3, values: { backend: { replicaCount: 3 } } }, 'backend', 3, {
        force: false,
        deployment: 'd',
      }).actions,
    ).toEqual([]);
  });

  it('with an HPA: its min/max, and says so; never 0', () => {
    const p = planScale({ ...base, hpa: { minReplicas: 1, maxReplicas: 3 } }, 'backend', 5, {
      force: false,
      deployment: 'd',
    });
    expect(p.after).toEqual({ minReplicas: 5, maxReplicas: 5 });
    expect(p.notes[0]).toMatch(/autoscaled/);
    expect(() =>
      planScale({ ...base, hpa: { minReplicas: 1, maxReplicas: 3 } }, 'backend', 0, { force: false, deployment: 'd' }),
    ).toThrow(/autoscaled/);
  });

  it('a PodDisruptionBudget minAvailable refuses without --force', () => {
    expect(pdbFloor({ minAvailable: 2 }, 1)).toBe(2);
    expect(pdbFloor({ minAvailable: '50%' }, 4)).toBe(2);
    expect(pdbFloor({ maxUnavailable: 1 }, 1)).toBeUndefined();
    expect(() =>
      planScale({ ...base, replicas: 3, pdb: { minAvailable: 2 } }, 'backend', 1, { force: false, deployment: 'd' }),
    ).toThrow(/minAvailable 2/);
    expect(
      planScale({ ...base, replicas: 3, pdb: { minAvailable: 2 } }, 'backend', 1, { force: true, deployment: 'd' })
        .actions,
    ).toHaveLength(1);
  });
});

describe('config planning', () => {
  it('keys: env settings and chart values; anything else refused before any change', () => {
    expect(classifyKey('OPENAI_API_KEY', suiteSettings, valuesSchema)).toMatchObject({
      kind: 'env',
      secret: true,
      appSecret: true,
    });
    expect(classifyKey('backend.config.logLevel', suiteSettings, valuesSchema)).toMatchObject({ kind: 'value' });
    expect(() => classifyKey('NOPE', suiteSettings, valuesSchema)).toThrow(/unknown key NOPE/);
    expect(() => classifyKey('backend.nope', suiteSettings, valuesSchema)).toThrow(/unknown key backend.nope/);
    expect(() => classifyKey('secrets.betterAuthSecret', suiteSettings, valuesSchema)).toThrow(/managed by deploy/);
  });

  it('secrets: never empty, never from the command line', () => {
    expect(() => parseAssignments(['BETTER_AUTH_SECRET='], suiteSettings, valuesSchema)).toThrow(/empty value refused/);
    expect(() => parseAssignments(['OPENAI_API_KEY=sk-1'], suiteSettings, valuesSchema)).toThrow(/read from stdin/);
    const [a] = parseAssignments(['OPENAI_API_KEY=-'], suiteSettings, valuesSchema);
    expect(assignmentValue(a!, suiteSettings, () => 'sk-1\n')).toBe('sk-1');
    const [b] = parseAssignments(['backend.replicaCount=abc'], suiteSettings, valuesSchema);
    expect(() => assignmentValue(b!, suiteSettings, () => '')).toThrow(/integer/);
    expect(() => checkUnset([classifyKey('DEMO_PASSWORD', suiteSettings, valuesSchema)])).toThrow(/required/);
  });

  it('diff: secrets by fingerprint, values only where the local files set them', () => {
    const d = diffConfig({
      localSecrets: { BETTER_AUTH_SECRET: 'a', DEMO_PASSWORD: 'new' },
      liveSecret: { BETTER_AUTH_SECRET: 'a', DEMO_PASSWORD: 'old' },
      localValues: { backend: { config: { logLevel: 'debug' } } },
      deployedValues: { backend: { config: { logLevel: 'info' }, image: { tag: 'x' } } },
    });
    expect(d).toEqual([
      { key: 'DEMO_PASSWORD', local: fingerprint('new'), deployed: fingerprint('old') },
      { key: 'backend.config.logLevel', local: '"debug"', deployed: '"info"' },
    ]);
  });

  it('rotate: only generated secrets; the Secret before the env file; exactly the readers rolled, through one helm upgrade when the chart is in step', () => {
    expect(() => planRotate('OPENAI_API_KEY', { file: 'f', secretName: 's', readers: [], newValue: 'n' })).toThrow(
      /cannot be generated/,
    );
    const p = planRotate('DEMO_PASSWORD', {
      file: 'f',
      secretName: 's',
      readers: [{ kind: 'Deployment', name: 'fe' }],
      oldValue: 'o',
      newValue: 'n',
    });
    expect(p.map((a) => `${a.what} ${a.target}`)).toEqual([
      'update secret secret/s',
      'write f',
      'restart deployment/fe',
    ]);
    // When the chart here renders the deployed revision: one recorded upgrade rolls the readers.
    const viaHelm = planRotate('DEMO_PASSWORD', {
      file: 'f',
      secretName: 's',
      readers: [
        { kind: 'Deployment', name: 'fe' },
        { kind: 'Deployment', name: 'be' },
      ],
      newValue: 'n',
      release: 'rel',
    });
    expect(viaHelm.map((a) => `${a.what} ${a.target}: ${a.reason}`).slice(2)).toEqual([
      'helm upgrade release/rel: records the rotation; rolls deployment/fe, deployment/be (their pods read DEMO_PASSWORD)',
    ]);
    // No reader: nothing to roll, no revision.
    expect(
      planRotate('DEMO_PASSWORD', { file: 'f', secretName: 's', readers: [], newValue: 'n', release: 'rel' }),
    ).toHaveLength(2);
    const spec = { containers: [{ env: [{ valueFrom: { secretKeyRef: { name: 's', key: 'DEMO_PASSWORD' } } }] }] };
    expect(readsSecretKey(spec, 's', 'DEMO_PASSWORD')).toBe(true);
    expect(readsSecretKey(spec, 's', 'OPENAI_API_KEY')).toBe(false);
    expect(readsSecretKey({ containers: [{ envFrom: [{ secretRef: { name: 's' } }] }] }, 's', 'X')).toBe(true);
  });
});
