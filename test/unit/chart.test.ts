// charts/todo-chatbot without a cluster: helm lint, the values schema, the
// template's cross-value checks, and the rendered fields that matter (names,
// labels, images, security, probes, secrets, checksums, policies, hooks, kagent).
// The same chart is installed on the real test bed by test/cluster/chart.test.ts.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { buildTools } from '../../scripts/lib/local-cluster/cluster.ts';
import {
  chartDir,
  countByKind,
  find,
  helm,
  helmBin,
  kinds,
  kubeVersion,
  podSpecs,
  profile,
  render,
  renderOk,
  type Obj,
} from '../fixtures/chart-helm.ts';

const chart = YAML.parse(fs.readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8')) as {
  version: string;
  appVersion: string;
};
/** The minimum a real install needs: the name of the app Secret. */
const base = ['secrets.existingSecret=todo-secrets'];
const secretKeys = ['BETTER_AUTH_SECRET', 'OPENAI_API_KEY', 'DATABASE_URL', 'DEMO_PASSWORD', 'POSTGRES_PASSWORD'];

const container = (o: Obj, i = 0) => o.spec.template.spec.containers[i];
const env = (c: { env?: { name: string }[] }, name: string) =>
  c.env?.find((e) => e.name === name) as
    | { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }
    | undefined;

/** Expects helm to refuse the values, with every `mentions` in its message. */
async function expectRejected(o: Parameters<typeof render>[0], ...mentions: (string | RegExp)[]) {
  const r = await render(o);
  expect(r.ok, `expected helm to refuse ${JSON.stringify(o)}; it rendered`).toBe(false);
  for (const m of mentions) expect(r.stderr).toMatch(m);
  return r.stderr;
}

beforeAll(async () => {
  // helm comes from the bed's tool cache (built once from the Go proxy, then cached).
  if (!fs.existsSync(helmBin)) await buildTools();
}, 1_800_000);

describe('helm lint', () => {
  it('passes --strict with the defaults and with every profile', async () => {
    for (const files of [[], [profile('minikube')], [profile('testbed')], [profile('cloud')], [profile('local')]]) {
      const args = [
        'lint',
        '--strict',
        chartDir,
        '--kube-version',
        kubeVersion,
        ...files.flatMap((f) => ['-f', f]),
        '--set',
        base[0]!,
      ];
      const r = await helm(args);
      expect(r.exitCode, `helm ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('0 chart(s) failed');
    }
  });

  it('every env/ profile points at a values file of this chart', () => {
    const envDir = path.resolve(chartDir, '..', '..', 'env');
    const files = fs.readdirSync(envDir).filter((f) => f.endsWith('.env'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const m = /^TODO_VALUES=(.+)$/m.exec(fs.readFileSync(path.join(envDir, f), 'utf8'));
      expect(m, `${f} has TODO_VALUES`).not.toBeNull();
      expect(fs.existsSync(path.resolve(envDir, '..', m![1]!.trim())), `${f}: ${m![1]}`).toBe(true);
    }
  });

  it('every key in values.yaml is commented', () => {
    // A key needs a comment right above it, unless it sits inside a plain data block: an
    // ancestor key that is commented, with no comment between it and this key (e.g. the
    // cpu/memory under a commented `resources:`).
    const lines = fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8').split('\n');
    const indent = (l: string) => l.search(/\S/);
    const isComment = (l: string) => /^\s*#/.test(l);
    const prevLine = (i: number) => {
      for (let j = i - 1; j >= 0; j--) if (lines[j]!.trim()) return j;
      return -1;
    };
    const commented = (i: number) => {
      const j = prevLine(i);
      return j >= 0 && isComment(lines[j]!);
    };
    const parent = (i: number) => {
      for (let j = i - 1; j >= 0; j--) {
        const l = lines[j]!;
        if (l.trim() && !isComment(l) && indent(l) < indent(lines[i]!)) return j;
      }
      return -1;
    };
    const undocumented: string[] = [];
    lines.forEach((line, i) => {
      if (!/^\s*[A-Za-z][\w.-]*:/.test(line) || commented(i)) return;
      let p = parent(i);
      while (p >= 0 && !commented(p)) p = parent(p);
      const dataBlock = p >= 0 && !lines.slice(p + 1, i).some(isComment);
      if (!dataBlock) undocumented.push(`values.yaml:${i + 1}: ${line.trim()}`);
    });
    expect(undocumented).toEqual([]);
  });
});

describe('values schema rejects bad values with a message naming them', () => {
  it('a negative replica count', async () => {
    await expectRejected(
      { set: [...base, 'backend.replicaCount=-1'] },
      "at '/backend/replicaCount'",
      /minimum: got -1, want 0/,
    );
    await expectRejected({ set: [...base, 'frontend.replicaCount=-3'] }, "at '/frontend/replicaCount'");
  });

  it('a non-integer replica count', async () => {
    await expectRejected(
      { values: { secrets: { existingSecret: 'x' }, backend: { replicaCount: 1.5 } } },
      "at '/backend/replicaCount'",
    );
  });

  it('an unknown top-level key (a typo) and an unknown key inside a main object', async () => {
    await expectRejected({ set: [...base, 'replicaCount=2'] }, /additional properties 'replicaCount' not allowed/);
    await expectRejected(
      { set: [...base, 'backend.replicas=2'] },
      "at '/backend'",
      /additional properties 'replicas' not allowed/,
    );
    await expectRejected(
      { set: [...base, 'postgresql.persistance.enabled=false'] },
      "at '/postgresql'",
      /'persistance'/,
    );
  });

  it('an empty image tag, and "latest"', async () => {
    await expectRejected(
      { set: [...base, 'backend.image.tag='] },
      "at '/backend/image/tag'",
      /minLength: got 0, want 1/,
    );
    await expectRejected({ set: [...base, 'frontend.image.tag='] }, "at '/frontend/image/tag'");
    await expectRejected({ set: [...base, 'postgresql.image.tag='] }, "at '/postgresql/image/tag'");
    await expectRejected({ set: [...base, 'backend.image.tag=latest'] }, "at '/backend/image/tag'");
    await expectRejected(
      { set: [...base, 'backend.image.tag=bad tag!'] },
      "at '/backend/image/tag'",
      /does not match pattern/,
    );
  });

  it('a bad port', async () => {
    await expectRejected(
      { set: [...base, 'frontend.port=70000'] },
      "at '/frontend/port'",
      /maximum: got 70,?000, want 65,?535/,
    );
    await expectRejected(
      { set: [...base, 'backend.service.port=0'] },
      "at '/backend/service/port'",
      /minimum: got 0, want 1/,
    );
    await expectRejected({ set: [...base, 'backend.port=http'] }, "at '/backend/port'");
    await expectRejected(
      { values: { secrets: { existingSecret: 'x' }, networkPolicy: { llmEgress: { ports: [443, 99999] } } } },
      "at '/networkPolicy/llmEgress/ports/1'",
    );
  });

  it('other typed values: log level, pull policy, CIDR', async () => {
    await expectRejected({ set: [...base, 'backend.config.logLevel=verbose'] }, "at '/backend/config/logLevel'");
    await expectRejected({ set: [...base, 'frontend.image.pullPolicy=Sometimes'] }, "at '/frontend/image/pullPolicy'");
    await expectRejected(
      { values: { secrets: { existingSecret: 'x' }, networkPolicy: { llmEgress: { cidrs: ['openai.com'] } } } },
      "at '/networkPolicy/llmEgress/cidrs/0'",
    );
  });
});

describe('cross-value checks fail rendering with a clear message', () => {
  it('no Secret source at all', async () => {
    await expectRejected({}, /secrets\.existingSecret/, /secrets\.create=true/);
  });
  it('secret values given next to an existing Secret', async () => {
    await expectRejected(
      { set: [...base, 'secrets.betterAuthSecret=x'] },
      /secrets\.betterAuthSecret is set but secrets\.existingSecret \(todo-secrets\)/,
    );
    await expectRejected(
      {
        set: [
          ...base,
          'postgresql.enabled=false',
          'externalDatabase.enabled=true',
          'externalDatabase.url=postgresql://u:p@h/d',
        ],
      },
      /externalDatabase\.url is set but secrets\.existingSecret/,
    );
  });
  it('both databases', async () => {
    await expectRejected(
      { set: [...base, 'externalDatabase.enabled=true'] },
      /postgresql\.enabled and externalDatabase\.enabled are both true/,
    );
  });
  it('an external database without a URL source (chart-created Secret)', async () => {
    await expectRejected(
      { set: ['secrets.create=true', 'postgresql.enabled=false', 'externalDatabase.enabled=true'] },
      /externalDatabase\.enabled: no DATABASE_URL source/,
    );
  });
  it('SQLite (no database) with more than one backend replica or an HPA', async () => {
    await expectRejected(
      { set: [...base, 'postgresql.enabled=false', 'backend.replicaCount=2'] },
      /SQLite.*one replica/,
    );
    await expectRejected(
      { set: [...base, 'postgresql.enabled=false', 'backend.autoscaling.enabled=true'] },
      /SQLite.*one replica/,
    );
  });
  it('HPA minReplicas above maxReplicas', async () => {
    await expectRejected(
      {
        set: [
          ...base,
          'frontend.autoscaling.enabled=true',
          'frontend.autoscaling.minReplicas=5',
          'frontend.autoscaling.maxReplicas=2',
        ],
      },
      /frontend\.autoscaling\.minReplicas \(5\) is greater than frontend\.autoscaling\.maxReplicas \(2\)/,
    );
  });
  it('a PDB with both minAvailable and maxUnavailable', async () => {
    await expectRejected(
      { set: [...base, 'backend.podDisruptionBudget.minAvailable=1'] },
      /backend\.podDisruptionBudget: set minAvailable or maxUnavailable, not both/,
    );
  });
});

describe('default render (values.yaml + an existing Secret)', () => {
  let objs: Obj[];
  beforeAll(async () => {
    objs = await renderOk({ set: base });
  });

  it('renders the expected objects, named <release>-<component>', () => {
    expect(kinds(objs)).toEqual([
      'ConfigMap/todo-backend',
      'ConfigMap/todo-frontend',
      'Deployment/todo-backend',
      'Deployment/todo-frontend',
      'Ingress/todo-frontend',
      'NetworkPolicy/todo-allow-dns',
      'NetworkPolicy/todo-backend',
      'NetworkPolicy/todo-default-deny',
      'NetworkPolicy/todo-frontend',
      'NetworkPolicy/todo-postgresql',
      'NetworkPolicy/todo-test',
      'Pod/todo-test-backend-readyz',
      'Pod/todo-test-frontend-health',
      'PodDisruptionBudget/todo-backend',
      'PodDisruptionBudget/todo-frontend',
      'Secret/todo-postgresql',
      'Service/todo-backend',
      'Service/todo-frontend',
      'Service/todo-postgresql',
      'Service/todo-postgresql-hl',
      'ServiceAccount/todo-backend',
      'ServiceAccount/todo-frontend',
      'ServiceAccount/todo-postgresql',
      'StatefulSet/todo-postgresql',
    ]);
    // No app Secret: the existing one is only referenced; no kagent objects unless enabled.
    expect(objs.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name)).toEqual(['todo-postgresql']);
    expect(objs.some((o) => o.apiVersion.startsWith('kagent.dev'))).toBe(false);
  });

  it('every object carries the standard labels and the release namespace', () => {
    for (const o of objs) {
      const l = o.metadata.labels ?? {};
      expect(l, `${o.kind}/${o.metadata.name}`).toMatchObject({
        'app.kubernetes.io/name': 'todo-chatbot',
        'app.kubernetes.io/instance': 'todo',
        'app.kubernetes.io/version': chart.appVersion,
        'app.kubernetes.io/part-of': 'todo-chatbot',
        'app.kubernetes.io/managed-by': 'Helm',
        'helm.sh/chart': `todo-chatbot-${chart.version}`,
      });
      expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('chat');
    }
  });

  it('workloads, their pods and Services carry the component label the ops scripts select on', () => {
    for (const [kind, name, component] of [
      ['Deployment', 'todo-backend', 'backend'],
      ['Deployment', 'todo-frontend', 'frontend'],
      ['StatefulSet', 'todo-postgresql', 'postgresql'],
    ] as const) {
      const w = find(objs, kind, name);
      const sel = { 'app.kubernetes.io/instance': 'todo', 'app.kubernetes.io/component': component };
      expect(w.metadata.labels).toMatchObject(sel);
      expect(w.spec.selector.matchLabels).toMatchObject(sel);
      expect(w.spec.template.metadata.labels).toMatchObject(sel);
      expect(find(objs, 'Service', name).spec.selector).toMatchObject(sel);
    }
  });

  it('images default to the chart appVersion (never latest) with pull policy IfNotPresent', () => {
    expect(container(find(objs, 'Deployment', 'todo-backend')).image).toBe(`todo-chatbot-backend:${chart.appVersion}`);
    expect(container(find(objs, 'Deployment', 'todo-frontend')).image).toBe(
      `todo-chatbot-frontend:${chart.appVersion}`,
    );
    expect(container(find(objs, 'StatefulSet', 'todo-postgresql')).image).toMatch(
      /^docker\.io\/library\/postgres:17\.\d+-trixie$/,
    );
    for (const p of podSpecs(objs)) {
      for (const c of p.spec.containers) {
        expect(c.image, p.owner).not.toMatch(/:latest$|^[^:]+$/);
        expect(c.imagePullPolicy, p.owner).toBe('IfNotPresent');
      }
    }
  });

  it('every pod meets the restricted Pod Security Standard and runs as its non-root uid', () => {
    const uids: Record<string, number> = {
      'Deployment/todo-backend': 10001,
      'Deployment/todo-frontend': 10001,
      'StatefulSet/todo-postgresql': 10001,
      'Pod/todo-test-backend-readyz': 10001,
      'Pod/todo-test-frontend-health': 10001,
    };
    const pods = podSpecs(objs);
    expect(pods.map((p) => p.owner).sort()).toEqual(Object.keys(uids).sort());
    for (const { owner, spec } of pods) {
      expect(spec.securityContext, owner).toMatchObject({
        runAsNonRoot: true,
        runAsUser: uids[owner],
        runAsGroup: uids[owner],
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(spec.automountServiceAccountToken, owner).toBe(false);
      expect(spec.hostNetwork ?? false).toBe(false);
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
        expect(c.securityContext, `${owner}/${c.name}`).toMatchObject({
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(c.securityContext.privileged ?? false).toBe(false);
        expect(c.securityContext.capabilities.add ?? []).toEqual([]);
        expect(c.resources.requests, `${owner}/${c.name} requests`).toMatchObject({
          cpu: expect.anything(),
          memory: expect.anything(),
        });
        expect(c.resources.limits, `${owner}/${c.name} limits`).toMatchObject({
          cpu: expect.anything(),
          memory: expect.anything(),
        });
      }
      // Only volume types the restricted profile allows.
      for (const v of spec.volumes ?? []) {
        const type = Object.keys(v).find((k) => k !== 'name');
        expect(
          ['emptyDir', 'configMap', 'secret', 'persistentVolumeClaim', 'projected', 'downwardAPI', 'ephemeral', 'csi'],
          `${owner} volume ${v.name}`,
        ).toContain(type);
      }
    }
  });

  it('read-only root filesystems get emptyDirs where the apps write', () => {
    const mounts = (o: Obj) =>
      Object.fromEntries(
        container(o).volumeMounts.map((m: { name: string; mountPath: string }) => [m.mountPath, m.name]),
      );
    const vol = (o: Obj, name: string) => o.spec.template.spec.volumes.find((v: { name: string }) => v.name === name);
    const backend = find(objs, 'Deployment', 'todo-backend');
    expect(mounts(backend)).toEqual({ '/tmp': 'tmp' }); // PostgreSQL in use: no SQLite directory
    expect(vol(backend, 'tmp').emptyDir).toBeDefined();
    const frontend = find(objs, 'Deployment', 'todo-frontend');
    expect(mounts(frontend)).toEqual({ '/tmp': 'tmp', '/app/.next/cache': 'next-cache' });
    expect(vol(frontend, 'next-cache').emptyDir).toBeDefined();
    const pg = find(objs, 'StatefulSet', 'todo-postgresql');
    expect(mounts(pg)).toEqual({ '/var/lib/postgresql/data': 'data', '/var/run/postgresql': 'run', '/tmp': 'tmp' });
    expect(pg.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
    expect(env(container(pg), 'PGDATA')?.value).toBe('/var/lib/postgresql/data/pgdata');
  });

  it('backend: port 8000, /healthz startup+liveness, /readyz readiness, Prometheus annotations', () => {
    const d = find(objs, 'Deployment', 'todo-backend');
    const c = container(d);
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8000, protocol: 'TCP' }]);
    expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(d.spec.template.metadata.annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '8000',
      'prometheus.io/path': '/metrics',
    });
    expect(find(objs, 'Service', 'todo-backend').spec.ports).toEqual([
      { name: 'http', port: 8000, targetPort: 'http', protocol: 'TCP' },
    ]);
    expect(d.spec.template.spec.serviceAccountName).toBe('todo-backend');
    expect(c.lifecycle.preStop.sleep.seconds).toBe(5);
    // Grace covers uvicorn's drain (GRACEFUL_TIMEOUT) plus the preStop pause.
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(20 + 5);
  });

  it('frontend: port 3000, liveness on the process, readiness on the backend, BACKEND_URL computed from the backend Service', () => {
    const c = container(find(objs, 'Deployment', 'todo-frontend'));
    expect(c.ports).toEqual([{ name: 'http', containerPort: 3000, protocol: 'TCP' }]);
    for (const p of ['startupProbe', 'livenessProbe'])
      expect(c[p].httpGet).toEqual({ path: '/api/health', port: 'http' });
    // A backend outage takes the pod out of the Service (readiness) without restarting it (liveness).
    expect(c.readinessProbe.httpGet).toEqual({ path: '/api/ready', port: 'http' });
    expect(find(objs, 'ConfigMap', 'todo-frontend').data).toEqual({
      BACKEND_URL: 'http://todo-backend:8000',
      PORT: '3000',
      HOSTNAME: '0.0.0.0',
      NEXT_TELEMETRY_DISABLED: '1',
    });
    expect(c.envFrom).toEqual([{ configMapRef: { name: 'todo-frontend' } }]);
  });

  it('backend settings are in its ConfigMap; secrets only as Secret references', () => {
    expect(find(objs, 'ConfigMap', 'todo-backend').data).toEqual({
      PORT: '8000',
      LOG_LEVEL: 'info',
      WEB_CONCURRENCY: '1',
      GRACEFUL_TIMEOUT: '20',
      MAX_BODY_BYTES: '65536',
      OPENAI_MODEL: 'gpt-4o-mini',
    });
    const b = container(find(objs, 'Deployment', 'todo-backend'));
    expect(env(b, 'BETTER_AUTH_SECRET')?.valueFrom?.secretKeyRef).toEqual({
      name: 'todo-secrets',
      key: 'BETTER_AUTH_SECRET',
    });
    expect(env(b, 'OPENAI_API_KEY')?.valueFrom?.secretKeyRef).toEqual({
      name: 'todo-secrets',
      key: 'OPENAI_API_KEY',
      optional: true,
    });
    const f = container(find(objs, 'Deployment', 'todo-frontend'));
    expect(env(f, 'BETTER_AUTH_SECRET')?.valueFrom?.secretKeyRef).toEqual({
      name: 'todo-secrets',
      key: 'BETTER_AUTH_SECRET',
    });
    // Required, not optional: a frontend without a sign-in password would let anyone in.
    expect(env(f, 'DEMO_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 'todo-secrets', key: 'DEMO_PASSWORD' });
    for (const cm of objs.filter((o) => o.kind === 'ConfigMap'))
      for (const k of secretKeys) expect(cm.data ?? {}, cm.metadata.name).not.toHaveProperty(k);
  });

  it('DATABASE_URL points at the in-cluster PostgreSQL, its password expanded from the Secret by the kubelet', () => {
    const b = container(find(objs, 'Deployment', 'todo-backend'));
    const names = b.env.map((e: { name: string }) => e.name);
    expect(env(b, 'POSTGRES_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({
      name: 'todo-postgresql',
      key: 'POSTGRES_PASSWORD',
    });
    expect(env(b, 'DATABASE_URL')?.value).toBe('postgresql://todo:$(POSTGRES_PASSWORD)@todo-postgresql:5432/todo');
    // $(VAR) expands only from variables defined earlier in the list.
    expect(names.indexOf('POSTGRES_PASSWORD')).toBeLessThan(names.indexOf('DATABASE_URL'));
    const pg = find(objs, 'Secret', 'todo-postgresql');
    expect(Buffer.from(pg.data!.POSTGRES_PASSWORD!, 'base64').toString()).toMatch(/^[A-Za-z0-9]{32}$/);
    // Kept on uninstall with the PVC, so a reinstall can open the old data.
    expect(pg.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    expect(
      env(container(find(objs, 'StatefulSet', 'todo-postgresql')), 'POSTGRES_PASSWORD')?.valueFrom?.secretKeyRef,
    ).toEqual({ name: 'todo-postgresql', key: 'POSTGRES_PASSWORD' });
  });

  it('one ServiceAccount per component, with token automount off', () => {
    const sas = objs.filter((o) => o.kind === 'ServiceAccount');
    expect(sas.map((s) => s.metadata.labels?.['app.kubernetes.io/component']).sort()).toEqual([
      'backend',
      'frontend',
      'postgresql',
    ]);
    for (const s of sas) expect(s.automountServiceAccountToken).toBe(false);
  });

  it('PodDisruptionBudgets allow one pod down (never blocking a drain); no HPA unless enabled', () => {
    for (const n of ['todo-backend', 'todo-frontend'])
      expect(find(objs, 'PodDisruptionBudget', n).spec.maxUnavailable).toBe(1);
    expect(objs.some((o) => o.kind === 'HorizontalPodAutoscaler')).toBe(false);
    expect(find(objs, 'Deployment', 'todo-backend').spec.replicas).toBe(1);
  });

  it('the Ingress sends the default host to the frontend only, through ingress-nginx', () => {
    const ing = find(objs, 'Ingress', 'todo-frontend');
    expect(ing.spec.ingressClassName).toBe('nginx');
    expect(ing.spec.rules).toEqual([
      {
        host: 'todo.local',
        http: {
          paths: [
            { path: '/', pathType: 'Prefix', backend: { service: { name: 'todo-frontend', port: { name: 'http' } } } },
          ],
        },
      },
    ]);
    expect(ing.spec.tls).toBeUndefined();
  });

  it('NetworkPolicies: deny by default, then exactly the allowed paths', () => {
    const np = (n: string) => find(objs, 'NetworkPolicy', n).spec;
    const rel = { 'app.kubernetes.io/name': 'todo-chatbot', 'app.kubernetes.io/instance': 'todo' };
    const comp = (c: string) => ({ matchLabels: { ...rel, 'app.kubernetes.io/component': c } });
    expect(np('todo-default-deny')).toEqual({ podSelector: { matchLabels: rel }, policyTypes: ['Ingress', 'Egress'] });
    expect(np('todo-allow-dns').egress).toEqual([
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          },
        ],
        ports: [
          { port: 53, protocol: 'UDP' },
          { port: 53, protocol: 'TCP' },
        ],
      },
    ]);
    expect(np('todo-frontend').ingress).toEqual([
      {
        from: [
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
          { podSelector: comp('test') },
        ],
        ports: [{ port: 'http', protocol: 'TCP' }],
      },
    ]);
    expect(np('todo-frontend').egress).toEqual([
      { to: [{ podSelector: comp('backend') }], ports: [{ port: 8000, protocol: 'TCP' }] },
    ]);
    expect(np('todo-backend').ingress).toEqual([
      {
        from: [{ podSelector: comp('frontend') }, { podSelector: comp('test') }],
        ports: [{ port: 'http', protocol: 'TCP' }],
      },
    ]);
    expect(np('todo-backend').egress).toEqual([
      { to: [{ podSelector: comp('postgresql') }], ports: [{ port: 5432, protocol: 'TCP' }] },
      { to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 443, protocol: 'TCP' }] },
    ]);
    expect(np('todo-postgresql')).toEqual({
      podSelector: comp('postgresql'),
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: comp('backend') }], ports: [{ port: 'postgresql', protocol: 'TCP' }] }],
    });
  });

  it('checksum annotations on every app pod template', () => {
    for (const n of ['todo-backend', 'todo-frontend']) {
      const a = find(objs, 'Deployment', n).spec.template.metadata.annotations;
      expect(a['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
      expect(a['checksum/secret']).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});

describe('overrides', () => {
  it('image registry and tag (what the deploy scripts set) and a pinned uid', async () => {
    const objs = await renderOk({
      set: [
        ...base,
        'backend.image.registry=registry.example:5000/todo',
        'backend.image.tag=3f2a9c1',
        'frontend.image.tag=3f2a9c1',
        'frontend.podSecurityContext.runAsUser=12345',
      ],
    });
    expect(container(find(objs, 'Deployment', 'todo-backend')).image).toBe(
      'registry.example:5000/todo/todo-chatbot-backend:3f2a9c1',
    );
    expect(container(find(objs, 'Deployment', 'todo-frontend')).image).toBe('todo-chatbot-frontend:3f2a9c1');
    expect(find(objs, 'Pod', 'todo-test-backend-readyz').spec.containers[0].image).toBe(
      'registry.example:5000/todo/todo-chatbot-backend:3f2a9c1',
    );
    // An all-digit git SHA arrives from --set as a number; it is still a valid tag (and 0-led ones stay strings).
    const digits = await renderOk({ set: [...base, 'backend.image.tag=1234567', 'frontend.image.tag=0123456'] });
    expect(container(find(digits, 'Deployment', 'todo-backend')).image).toBe('todo-chatbot-backend:1234567');
    expect(container(find(digits, 'Deployment', 'todo-frontend')).image).toBe('todo-chatbot-frontend:0123456');
    // Overriding one field keeps the rest of the restricted context.
    expect(find(objs, 'Deployment', 'todo-frontend').spec.template.spec.securityContext).toMatchObject({
      runAsUser: 12345,
      runAsGroup: 10001,
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it("a config change changes only that component's checksum/config; same values render the same checksums", async () => {
    const a = await renderOk({ set: base });
    const b = await renderOk({ set: [...base, 'backend.config.logLevel=debug'] });
    const again = await renderOk({ set: base });
    const sum = (objs: Obj[], n: string, k: string) =>
      find(objs, 'Deployment', n).spec.template.metadata.annotations[k];
    expect(sum(b, 'todo-backend', 'checksum/config')).not.toBe(sum(a, 'todo-backend', 'checksum/config'));
    expect(sum(b, 'todo-frontend', 'checksum/config')).toBe(sum(a, 'todo-frontend', 'checksum/config'));
    for (const n of ['todo-backend', 'todo-frontend'])
      for (const k of ['checksum/config', 'checksum/secret']) expect(sum(again, n, k)).toBe(sum(a, n, k));
  });

  it('secrets.create: a chart-made Secret (generated auth secret and sign-in password); a changed secret value changes checksum/secret', async () => {
    const one = await renderOk({ set: ['secrets.create=true'] });
    const s = find(one, 'Secret', 'todo-secrets');
    expect(Object.keys(s.data!)).toEqual(['BETTER_AUTH_SECRET', 'DEMO_PASSWORD']);
    expect(Buffer.from(s.data!.BETTER_AUTH_SECRET!, 'base64').toString()).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(Buffer.from(s.data!.DEMO_PASSWORD!, 'base64').toString()).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(
      env(container(find(one, 'Deployment', 'todo-backend')), 'BETTER_AUTH_SECRET')?.valueFrom?.secretKeyRef?.name,
    ).toBe('todo-secrets');
    const two = await renderOk({
      values: { secrets: { create: true, demoPassword: 'demo-pass-123', openaiApiKey: 'sk-test-abc' } },
    });
    expect(Object.keys(find(two, 'Secret', 'todo-secrets').data!).sort()).toEqual([
      'BETTER_AUTH_SECRET',
      'DEMO_PASSWORD',
      'OPENAI_API_KEY',
    ]);
    const sum = (objs: Obj[], n: string) =>
      find(objs, 'Deployment', n).spec.template.metadata.annotations['checksum/secret'];
    expect(sum(two, 'todo-frontend')).not.toBe(sum(one, 'todo-frontend'));
    // Per key: a key rolls the components that read it and no others.
    const demo = await renderOk({ values: { secrets: { create: true, demoPassword: 'demo-pass-123' } } });
    expect(sum(demo, 'todo-frontend')).not.toBe(sum(one, 'todo-frontend'));
    expect(sum(demo, 'todo-backend')).toBe(sum(one, 'todo-backend')); // the backend does not read DEMO_PASSWORD
    const key = await renderOk({ values: { secrets: { create: true, openaiApiKey: 'sk-test-abc' } } });
    expect(sum(key, 'todo-backend')).not.toBe(sum(one, 'todo-backend'));
    expect(sum(key, 'todo-frontend')).toBe(sum(one, 'todo-frontend'));
    // A key the backend takes from the app Secret through extraEnv counts for it too.
    const extra = {
      backend: {
        extraEnv: [{ name: 'SIGN_IN', valueFrom: { secretKeyRef: { name: 'todo-secrets', key: 'DEMO_PASSWORD' } } }],
      },
    };
    const withExtra = await renderOk({ values: { secrets: { create: true }, ...extra } });
    const withExtraDemo = await renderOk({
      values: { secrets: { create: true, demoPassword: 'demo-pass-123' }, ...extra },
    });
    expect(sum(withExtraDemo, 'todo-backend')).not.toBe(sum(withExtra, 'todo-backend'));
    // The values appear base64-encoded in the Secret only: never in plain text anywhere.
    const text = JSON.stringify(two.filter((o) => o.kind !== 'Secret'));
    expect(text).not.toContain('demo-pass-123');
    expect(text).not.toContain('sk-test-abc');
  });

  it('SQLite when there is no database: SQLITE_PATH in an emptyDir', async () => {
    const objs = await renderOk({ set: [...base, 'postgresql.enabled=false'] });
    expect(find(objs, 'ConfigMap', 'todo-backend').data?.SQLITE_PATH).toBe('/data/todo.db');
    const d = find(objs, 'Deployment', 'todo-backend');
    expect(container(d).volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    expect(d.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'data').emptyDir).toBeDefined();
    expect(env(container(d), 'DATABASE_URL')).toBeUndefined();
    expect(objs.some((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'postgresql')).toBe(false);
  });

  it('external database: DATABASE_URL from a Secret, egress to it, no PostgreSQL objects', async () => {
    const objs = await renderOk({
      set: [
        ...base,
        'postgresql.enabled=false',
        'externalDatabase.enabled=true',
        'externalDatabase.existingSecret=neon',
        'externalDatabase.existingSecretKey=url',
      ],
    });
    const c = container(find(objs, 'Deployment', 'todo-backend'));
    expect(env(c, 'DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({ name: 'neon', key: 'url' });
    expect(env(c, 'POSTGRES_PASSWORD')).toBeUndefined();
    expect(find(objs, 'ConfigMap', 'todo-backend').data).not.toHaveProperty('SQLITE_PATH');
    expect(find(objs, 'NetworkPolicy', 'todo-backend').spec.egress).toContainEqual({
      to: [{ ipBlock: { cidr: '0.0.0.0/0' } }],
      ports: [{ port: 5432, protocol: 'TCP' }],
    });
    expect(objs.filter((o) => /postgresql/.test(o.metadata.name))).toEqual([]);
  });

  it('PostgreSQL password from an existing Secret: none generated', async () => {
    const objs = await renderOk({
      set: [...base, 'postgresql.auth.existingSecret=pg-pass', 'postgresql.auth.secretKey=password'],
    });
    expect(objs.some((o) => o.kind === 'Secret')).toBe(false);
    expect(
      env(container(find(objs, 'Deployment', 'todo-backend')), 'POSTGRES_PASSWORD')?.valueFrom?.secretKeyRef,
    ).toEqual({ name: 'pg-pass', key: 'password' });
  });

  it('LLM egress: configurable CIDRs and ports, or none', async () => {
    const custom = await renderOk({
      values: {
        secrets: { existingSecret: 'x' },
        networkPolicy: { llmEgress: { cidrs: ['203.0.113.0/24'], except: ['203.0.113.8/32'], ports: [443, 8443] } },
      },
    });
    expect(find(custom, 'NetworkPolicy', 'todo-backend').spec.egress[1]).toEqual({
      to: [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.8/32'] } }],
      ports: [
        { port: 443, protocol: 'TCP' },
        { port: 8443, protocol: 'TCP' },
      ],
    });
    const off = await renderOk({ set: [...base, 'networkPolicy.llmEgress.enabled=false'] });
    expect(find(off, 'NetworkPolicy', 'todo-backend').spec.egress).toHaveLength(1);
    const none = await renderOk({ set: [...base, 'networkPolicy.enabled=false'] });
    expect(none.some((o) => o.kind === 'NetworkPolicy')).toBe(false);
  });

  it('HPAs (autoscaling/v2 with behavior) replace spec.replicas', async () => {
    const objs = await renderOk({
      set: [
        ...base,
        'backend.autoscaling.enabled=true',
        'frontend.autoscaling.enabled=true',
        'frontend.autoscaling.targetMemoryUtilizationPercentage=80',
      ],
    });
    for (const n of ['todo-backend', 'todo-frontend']) {
      const h = find(objs, 'HorizontalPodAutoscaler', n);
      expect(h.apiVersion).toBe('autoscaling/v2');
      expect(h.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: n });
      expect(h.spec.behavior.scaleDown.stabilizationWindowSeconds).toBe(300);
      expect(h.spec.behavior.scaleUp.policies.length).toBeGreaterThan(0);
      expect(find(objs, 'Deployment', n).spec.replicas).toBeUndefined();
    }
    expect(
      find(objs, 'HorizontalPodAutoscaler', 'todo-frontend').spec.metrics.map(
        (m: { resource: { name: string } }) => m.resource.name,
      ),
    ).toEqual(['cpu', 'memory']);
  });

  it('Ingress: host, class and TLS configurable; disabled renders none', async () => {
    const objs = await renderOk({
      set: [...base, 'ingress.host=todo.example.com', 'ingress.className=traefik', 'ingress.tls.enabled=true'],
    });
    const ing = find(objs, 'Ingress', 'todo-frontend');
    expect(ing.spec.ingressClassName).toBe('traefik');
    expect(ing.spec.tls).toEqual([{ hosts: ['todo.example.com'], secretName: 'todo-frontend-tls' }]);
    expect((await renderOk({ set: [...base, 'ingress.enabled=false'] })).some((o) => o.kind === 'Ingress')).toBe(false);
  });
});

describe('profiles', () => {
  it('minikube: PostgreSQL with a PVC, ingress, one replica each with an HPA from 1', async () => {
    const objs = await renderOk({ files: [profile('minikube')], set: base });
    const pg = find(objs, 'StatefulSet', 'todo-postgresql');
    expect(pg.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('1Gi');
    expect(pg.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    expect(find(objs, 'Ingress', 'todo-frontend').spec.rules[0].host).toBe('todo.local');
    for (const n of ['todo-backend', 'todo-frontend'])
      expect(find(objs, 'HorizontalPodAutoscaler', n).spec.minReplicas).toBe(1);
    expect(countByKind(objs)).toMatchObject({ Deployment: 2, StatefulSet: 1, HorizontalPodAutoscaler: 2, Ingress: 1 });
  });

  it('testbed: chart-made Secret, PostgreSQL on an emptyDir (the bed has no volume provisioner), no ingress', async () => {
    const objs = await renderOk({ files: [profile('testbed')] });
    const pg = find(objs, 'StatefulSet', 'todo-postgresql');
    expect(pg.spec.volumeClaimTemplates).toBeUndefined();
    expect(pg.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'data').emptyDir).toBeDefined();
    // Nothing to keep without a PVC: the generated password goes with the release.
    expect(find(objs, 'Secret', 'todo-postgresql').metadata.annotations).toBeUndefined();
    expect(find(objs, 'Secret', 'todo-secrets')).toBeDefined();
    expect(objs.some((o) => o.kind === 'Ingress')).toBe(false);
  });

  it('cloud: external database from the existing Secret, no PostgreSQL, two replicas at least', async () => {
    const objs = await renderOk({ files: [profile('cloud')], set: base });
    expect(objs.some((o) => o.kind === 'StatefulSet')).toBe(false);
    expect(env(container(find(objs, 'Deployment', 'todo-backend')), 'DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({
      name: 'todo-secrets',
      key: 'DATABASE_URL',
    });
    for (const n of ['todo-backend', 'todo-frontend'])
      expect(find(objs, 'HorizontalPodAutoscaler', n).spec.minReplicas).toBe(2);
    expect(countByKind(objs)).toEqual({
      ConfigMap: 2,
      Deployment: 2,
      HorizontalPodAutoscaler: 2,
      Ingress: 1,
      NetworkPolicy: 5,
      Pod: 2,
      PodDisruptionBudget: 2,
      Service: 2,
      ServiceAccount: 2,
    });
  });
});

describe('helm test hooks', () => {
  let objs: Obj[];
  beforeAll(async () => {
    objs = await renderOk({ set: base });
  });

  it('two hook pods reuse the app images (no extra image) and restricted security', () => {
    const hooks = objs.filter((o) => o.metadata.annotations?.['helm.sh/hook'] === 'test');
    expect(hooks.map((h) => `${h.kind}/${h.metadata.name}`).sort()).toEqual([
      'Pod/todo-test-backend-readyz',
      'Pod/todo-test-frontend-health',
    ]);
    for (const h of hooks) {
      expect(h.spec.restartPolicy).toBe('Never');
      expect(h.metadata.annotations?.['helm.sh/hook-delete-policy']).toBe('before-hook-creation,hook-succeeded');
      expect(h.metadata.labels?.['app.kubernetes.io/component']).toBe('test');
    }
    const b = find(objs, 'Pod', 'todo-test-backend-readyz').spec.containers[0];
    expect(b.image).toBe(container(find(objs, 'Deployment', 'todo-backend')).image);
    expect(b.command.slice(0, 2)).toEqual(['python', '-c']);
    expect(env(b, 'URL')?.value).toBe('http://todo-backend:8000/readyz');
    const f = find(objs, 'Pod', 'todo-test-frontend-health').spec.containers[0];
    expect(f.image).toBe(container(find(objs, 'Deployment', 'todo-frontend')).image);
    expect(f.command.slice(0, 2)).toEqual(['node', '-e']);
    expect(env(f, 'URL')?.value).toBe('http://todo-frontend:3000/api/health');
  });

  it('tests.enabled=false renders no hook and no test NetworkPolicy', async () => {
    const off = await renderOk({ set: [...base, 'tests.enabled=false'] });
    expect(off.some((o) => o.kind === 'Pod' || o.metadata.name === 'todo-test')).toBe(false);
  });

  // The hook scripts themselves, run here with this machine's python3 and node against a
  // local server on 127.0.0.1: exit 0 on 200, non-zero on 503 or no answer.
  it('the hook scripts pass on 200 and fail on 503 or a refused connection', async () => {
    const server = http.createServer((req, res) => {
      res.statusCode = req.url?.startsWith('/ok') ? 200 : 503;
      res.end('{"status":"x"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const py = find(objs, 'Pod', 'todo-test-backend-readyz').spec.containers[0].command as string[];
      const js = find(objs, 'Pod', 'todo-test-frontend-health').spec.containers[0].command as string[];
      const exec = async (cmd: string[], url: string) => {
        const bin = cmd[0] === 'python' ? 'python3' : process.execPath;
        // spawn asynchronously so the local server (same event loop) can answer.
        const { spawn } = await import('node:child_process');
        return new Promise<number | null>((resolve) => {
          const p = spawn(bin, cmd.slice(1), { env: { ...process.env, URL: url }, stdio: 'ignore' });
          const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
          p.on('close', (code) => {
            clearTimeout(t);
            resolve(code);
          });
        });
      };
      const hasPython = spawnSync('python3', ['--version']).status === 0;
      for (const cmd of hasPython ? [py, js] : [js]) {
        expect(await exec(cmd, `http://127.0.0.1:${port}/ok`), cmd[0]).toBe(0);
        expect(await exec(cmd, `http://127.0.0.1:${port}/readyz`), cmd[0]).not.toBe(0);
      }
      await new Promise<void>((r) => server.close(() => r()));
      for (const cmd of hasPython ? [py, js] : [js])
        expect(await exec(cmd, `http://127.0.0.1:${port}/ok`), `${cmd[0]} refused`).not.toBe(0);
    } finally {
      server.close();
    }
  });
});

describe('kagent (optional)', () => {
  it('renders a ModelConfig and the two agents, scoped to the release namespace', async () => {
    const objs = await renderOk({ set: [...base, 'kagent.enabled=true'] });
    const k = objs.filter((o) => o.apiVersion === 'kagent.dev/v1alpha2');
    expect(k.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'Agent/todo-monitor',
      'Agent/todo-self-healer',
      'ModelConfig/todo-kagent-model',
    ]);
    for (const o of k) expect(o.metadata.namespace).toBe('kagent');
    const mc = find(objs, 'ModelConfig', 'todo-kagent-model');
    expect(mc.spec).toEqual({
      provider: 'OpenAI',
      model: 'gpt-4o-mini',
      apiKeySecret: 'kagent-openai',
      apiKeySecretKey: 'OPENAI_API_KEY',
    });
    for (const name of ['todo-self-healer', 'todo-monitor']) {
      const a = find(objs, 'Agent', name);
      expect(a.spec.type).toBe('Declarative');
      expect(a.spec.declarative.modelConfig).toBe('todo-kagent-model');
      expect(a.spec.declarative.systemMessage).toContain('namespace "chat"');
      expect(a.spec.declarative.systemMessage).toContain('app.kubernetes.io/instance=todo');
      const [tool] = a.spec.declarative.tools;
      expect(tool.type).toBe('McpServer');
      expect(tool.mcpServer).toMatchObject({
        name: 'kagent-tool-server',
        kind: 'RemoteMCPServer',
        apiGroup: 'kagent.dev',
      });
    }
    // The monitor only reads.
    const monitorTools: string[] = find(objs, 'Agent', 'todo-monitor').spec.declarative.tools[0].mcpServer.toolNames;
    expect(monitorTools.filter((t) => /apply|patch|delete|upgrade|create|scale/.test(t))).toEqual([]);
    const healerTools: string[] = find(objs, 'Agent', 'todo-self-healer').spec.declarative.tools[0].mcpServer.toolNames;
    expect(healerTools).toContain('k8s_delete_resource');
    expect(healerTools).not.toContain('k8s_apply_manifest');
    expect(healerTools).not.toContain('helm_upgrade');
  });

  it('namespace and model are configurable; an existing ModelConfig can be used', async () => {
    const objs = await renderOk({
      set: [
        ...base,
        'kagent.enabled=true',
        'kagent.namespace=',
        'kagent.modelConfig.create=false',
        'kagent.modelConfig.name=default-model-config',
        'kagent.monitor.enabled=false',
      ],
    });
    const k = objs.filter((o) => o.apiVersion === 'kagent.dev/v1alpha2');
    expect(k.map((o) => `${o.kind}/${o.metadata.name}@${o.metadata.namespace}`)).toEqual([
      'Agent/todo-self-healer@chat',
    ]);
    expect(k[0]!.spec.declarative.modelConfig).toBe('default-model-config');
  });
});

describe('hardening: storage, probes, uids, spreading', () => {
  const profiles = [
    ['defaults', []],
    ['minikube', [profile('minikube')]],
    ['testbed', [profile('testbed')]],
    ['cloud', [profile('cloud')]],
    ['local', [profile('local')]],
  ] as const;
  const window = (p: { periodSeconds: number; failureThreshold: number }) => p.periodSeconds * p.failureThreshold;

  it.each(profiles)(
    'every container (test hooks and PostgreSQL included) declares ephemeral-storage requests and limits: %s',
    async (_name, files) => {
      const objs = await renderOk({ files: [...files], set: base });
      const pods = podSpecs(objs);
      expect(pods.length).toBeGreaterThanOrEqual(4);
      for (const { owner, spec } of pods) {
        for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
          expect(c.resources?.requests?.['ephemeral-storage'], `${owner}/${c.name} request`).toMatch(/^\d+(Ki|Mi|Gi)$/);
          expect(c.resources?.limits?.['ephemeral-storage'], `${owner}/${c.name} limit`).toMatch(/^\d+(Ki|Mi|Gi)$/);
        }
      }
    },
  );

  it.each(profiles)(
    'liveness is a different check than readiness or gives up later, everywhere: %s',
    async (_name, files) => {
      const objs = await renderOk({ files: [...files], set: base });
      const workloads = objs.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
      expect(workloads.length).toBeGreaterThanOrEqual(2);
      for (const w of workloads) {
        for (const c of w.spec.template.spec.containers) {
          const { livenessProbe: live, readinessProbe: ready } = c;
          expect(live && ready, `${w.metadata.name}/${c.name} has both probes`).toBeTruthy();
          // More tolerant in time in every case; PostgreSQL's and the backend's checks differ as well.
          expect(
            window(live),
            `${w.metadata.name}: liveness ${window(live)}s vs readiness ${window(ready)}s`,
          ).toBeGreaterThan(window(ready));
          expect(live.timeoutSeconds, `${w.metadata.name}: liveness timeout`).toBeGreaterThanOrEqual(
            ready.timeoutSeconds,
          );
          // The same check must also need more consecutive failures, not only a longer period.
          const same = JSON.stringify(live.httpGet ?? live.exec) === JSON.stringify(ready.httpGet ?? ready.exec);
          if (same)
            expect(live.failureThreshold, `${w.metadata.name}: same check, failureThreshold`).toBeGreaterThan(
              ready.failureThreshold,
            );
        }
      }
      const pg = objs.find((o) => o.kind === 'StatefulSet');
      if (pg) {
        const c = container(pg);
        expect(c.livenessProbe.exec.command).not.toEqual(c.readinessProbe.exec.command);
        expect(c.livenessProbe.exec.command.join(' ')).toContain('[ $? -le 1 ]');
      }
    },
  );

  it.each(profiles)('every pod and container runs with uid and gid of 10000 or more: %s', async (_name, files) => {
    const objs = await renderOk({ files: [...files], set: base });
    for (const { owner, spec } of podSpecs(objs)) {
      for (const k of ['runAsUser', 'runAsGroup', 'fsGroup'])
        expect(spec.securityContext[k], `${owner} ${k}`).toBeGreaterThanOrEqual(10000);
      for (const c of spec.containers)
        for (const k of ['runAsUser', 'runAsGroup'])
          if (c.securityContext?.[k] !== undefined) expect(c.securityContext[k]).toBeGreaterThanOrEqual(10000);
    }
  });

  it('PostgreSQL keeps PGDATA in a subdirectory of the volume that fsGroup makes writable, without recursive chowns on every start', async () => {
    const objs = await renderOk({ set: base });
    const pg = find(objs, 'StatefulSet', 'todo-postgresql');
    const mount = container(pg).volumeMounts.find((m: { name: string }) => m.name === 'data').mountPath as string;
    expect(env(container(pg), 'PGDATA')?.value).toBe(`${mount}/pgdata`);
    expect(pg.spec.template.spec.securityContext).toMatchObject({
      fsGroup: 10001,
      fsGroupChangePolicy: 'OnRootMismatch',
    });
    expect(container(pg).volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toContain('/tmp'); // nss_wrapper's passwd for an arbitrary uid
  });

  it('backend and frontend replicas prefer different nodes; a podAntiAffinity of your own replaces it; spreadAcrossNodes=false drops it', async () => {
    const objs = await renderOk({ set: base });
    for (const c of ['backend', 'frontend']) {
      const terms = find(objs, 'Deployment', `todo-${c}`).spec.template.spec.affinity.podAntiAffinity
        .preferredDuringSchedulingIgnoredDuringExecution;
      expect(terms).toEqual([
        {
          weight: 100,
          podAffinityTerm: {
            topologyKey: 'kubernetes.io/hostname',
            labelSelector: {
              matchLabels: {
                'app.kubernetes.io/name': 'todo-chatbot',
                'app.kubernetes.io/instance': 'todo',
                'app.kubernetes.io/component': c,
              },
            },
          },
        },
      ]);
    }
    const own = {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          { topologyKey: 'topology.kubernetes.io/zone', labelSelector: { matchLabels: { x: 'y' } } },
        ],
      },
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 1, preference: { matchExpressions: [{ key: 'a', operator: 'Exists' }] } },
        ],
      },
    };
    const mine = await renderOk({ values: { secrets: { existingSecret: 'x' }, backend: { affinity: own } } });
    expect(find(mine, 'Deployment', 'todo-backend').spec.template.spec.affinity).toEqual(own);
    const keepsNode = await renderOk({
      values: { secrets: { existingSecret: 'x' }, backend: { affinity: { nodeAffinity: own.nodeAffinity } } },
    });
    expect(Object.keys(find(keepsNode, 'Deployment', 'todo-backend').spec.template.spec.affinity).sort()).toEqual([
      'nodeAffinity',
      'podAntiAffinity',
    ]);
    const off = await renderOk({ set: [...base, 'frontend.spreadAcrossNodes=false'] });
    expect(find(off, 'Deployment', 'todo-frontend').spec.template.spec.affinity).toBeUndefined();
  });
});

describe('values schema: one bad value per rule is refused', () => {
  const v = (values: object) => ({ values: { secrets: { existingSecret: 'x' }, ...values } });
  it.each([
    [
      'resources without ephemeral-storage',
      v({ frontend: { resources: { limits: { 'ephemeral-storage': null } } } }),
      '/frontend/resources/limits',
    ],
    [
      'test hooks without ephemeral-storage',
      v({ tests: { resources: { requests: { 'ephemeral-storage': null } } } }),
      '/tests/resources/requests',
    ],
    [
      'a memory quantity that is not one',
      v({ backend: { resources: { limits: { memory: '512MB' } } } }),
      '/backend/resources/limits/memory',
    ],
    [
      'a cpu quantity that is not one',
      v({ postgresql: { resources: { requests: { cpu: 'one' } } } }),
      '/postgresql/resources/requests/cpu',
    ],
    [
      'an ephemeral-storage quantity that is not one',
      v({ backend: { resources: { requests: { 'ephemeral-storage': '-1Gi' } } } }),
      '/backend/resources/requests/ephemeral-storage',
    ],
    ['an ingress host with a bad character', v({ ingress: { host: 'todo_app.local' } }), '/ingress/host'],
    ['an ingress host label over 63 characters', v({ ingress: { host: `${'a'.repeat(64)}.local` } }), '/ingress/host'],
    [
      'an image repository with upper case',
      v({ backend: { image: { repository: 'Todo/Backend' } } }),
      '/backend/image/repository',
    ],
    [
      'an image repository with a double slash',
      v({ frontend: { image: { repository: 'todo//frontend' } } }),
      '/frontend/image/repository',
    ],
    [
      'a PDB maxUnavailable of 0 (blocks every drain)',
      v({ backend: { podDisruptionBudget: { maxUnavailable: 0 } } }),
      '/backend/podDisruptionBudget/maxUnavailable',
    ],
    [
      'a PDB percentage over 100',
      v({ frontend: { podDisruptionBudget: { maxUnavailable: '150%' } } }),
      '/frontend/podDisruptionBudget/maxUnavailable',
    ],
    [
      'a PDB minAvailable of 100% (blocks every drain)',
      v({ frontend: { podDisruptionBudget: { maxUnavailable: null, minAvailable: '100%' } } }),
      '/frontend/podDisruptionBudget/minAvailable',
    ],
    [
      'a probe period of 0',
      v({ frontend: { probes: { readiness: { periodSeconds: 0 } } } }),
      '/frontend/probes/readiness/periodSeconds',
    ],
    [
      'a probe timeout of an hour',
      v({ backend: { probes: { liveness: { timeoutSeconds: 3600 } } } }),
      '/backend/probes/liveness/timeoutSeconds',
    ],
    [
      'a probe failureThreshold of 1000',
      v({ postgresql: { probes: { startup: { failureThreshold: 1000 } } } }),
      '/postgresql/probes/startup/failureThreshold',
    ],
    [
      'a uid below 10000',
      v({ frontend: { podSecurityContext: { runAsUser: 1001 } } }),
      '/frontend/podSecurityContext/runAsUser',
    ],
    [
      'a gid below 10000',
      v({ postgresql: { podSecurityContext: { runAsGroup: 999 } } }),
      '/postgresql/podSecurityContext/runAsGroup',
    ],
    [
      'an fsGroup below 10000',
      v({ backend: { podSecurityContext: { fsGroup: 0 } } }),
      '/backend/podSecurityContext/fsGroup',
    ],
    [
      'a container uid below 10000',
      v({ backend: { securityContext: { runAsUser: 0 } } }),
      '/backend/securityContext/runAsUser',
    ],
  ] as const)('%s', async (_what, o, at) => {
    await expectRejected(o, `at '${at}'`);
  });
});

describe('cross-value checks on probes', () => {
  it('a liveness probe that gives up no later than readiness', async () => {
    await expectRejected(
      { set: [...base, 'frontend.probes.liveness.failureThreshold=1', 'frontend.probes.liveness.periodSeconds=15'] },
      /frontend\.probes\.liveness must tolerate more than readiness: .* 15s for liveness and 15s for readiness/,
    );
    await expectRejected(
      { set: [...base, 'postgresql.probes.liveness.failureThreshold=1'] },
      /postgresql\.probes\.liveness must tolerate more/,
    );
  });
  it('a probe timeout longer than its period', async () => {
    await expectRejected(
      { set: [...base, 'backend.probes.readiness.timeoutSeconds=10'] },
      /backend\.probes\.readiness: timeoutSeconds \(10\) is longer than periodSeconds \(5\)/,
    );
  });
});
