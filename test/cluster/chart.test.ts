// charts/todo-chatbot on the real test bed (kube-apiserver 1.33, controllers,
// scheduler, metrics-server; kwok plays the kubelet). What is real here: API
// validation and admission (the restricted Pod Security Standard is enforced by the
// API server), Helm's install/upgrade/uninstall, the Deployment/ReplicaSet/StatefulSet
// controllers and the scheduler. What is simulated: kwok marks scheduled pods
// Running/Ready from their spec alone. No container runs, no image is pulled, no
// probe is executed and NetworkPolicies are not enforced (no CNI).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { $ } from 'zx';
import { bedEnv, deleteNamespace, kube, sh, tempNamespace } from '../helpers/cluster.ts';
import {
  chartDir,
  countByKind,
  profile,
  renderOk,
  valuesFile,
  type Obj,
  type RenderOptions,
} from '../fixtures/chart-helm.ts';

const release = 'todo';
const restricted = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/warn': 'restricted',
  'pod-security.kubernetes.io/audit': 'restricted',
};

/** Every option that can be on at once (kagent off: the bed has no kagent CRDs). */
const allOptionsOn = {
  imagePullSecrets: [{ name: 'regcred' }],
  secrets: {
    create: true,
    betterAuthSecret: 'throwaway-auth-secret',
    openaiApiKey: 'sk-throwaway',
    demoPassword: 'demo-throwaway',
  },
  backend: {
    image: { registry: 'registry.example:5000/todo', tag: '3f2a9c1' },
    config: {
      logLevel: 'debug',
      webConcurrency: 2,
      corsOrigins: 'https://todo.example.com',
      openaiBaseUrl: 'https://llm.example.com/v1',
    },
    extraEnv: [{ name: 'OPENAI_TIMEOUT', value: '45' }],
    autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 6, targetMemoryUtilizationPercentage: 80 },
    podAnnotations: { 'example.com/team': 'todo' },
    podLabels: { 'example.com/tier': 'api' },
    serviceAccount: { annotations: { 'example.com/role': 'backend' } },
    service: { annotations: { 'example.com/svc': 'backend' } },
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'todo', effect: 'NoSchedule' }],
    affinity: {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 50,
            podAffinityTerm: {
              topologyKey: 'kubernetes.io/hostname',
              labelSelector: { matchLabels: { 'app.kubernetes.io/component': 'backend' } },
            },
          },
        ],
      },
    },
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: { 'app.kubernetes.io/component': 'backend' } },
      },
    ],
  },
  frontend: {
    image: { registry: 'registry.example:5000/todo', tag: '3f2a9c1' },
    service: { type: 'NodePort' },
    autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 4 },
    podDisruptionBudget: { maxUnavailable: null, minAvailable: 1 },
    extraEnv: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=256' }],
  },
  postgresql: {
    persistence: {
      enabled: true,
      storageClass: 'standard',
      size: '1Gi',
      annotations: { 'example.com/backup': 'daily' },
    },
  },
  ingress: { enabled: true, className: 'nginx', host: 'todo.example.com', tls: { enabled: true } },
  networkPolicy: {
    enabled: true,
    llmEgress: { enabled: true, cidrs: ['0.0.0.0/0'], except: ['10.0.0.0/8'], ports: [443] },
    metricsScrapers: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
    frontendExtraFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'edge' } } }],
  },
};

describe('todo-chatbot chart on the test bed', () => {
  let ns: string;
  let serverVersion: string;
  const k = kube();

  /** Sends rendered objects to the API server as a server-side dry run (validation + admission, nothing stored). */
  async function serverDryRun(objs: Obj[]) {
    const input = objs.map((o) => JSON.stringify(o)).join('\n');
    return $({ env: bedEnv(), quiet: true, nothrow: true, input })`kubectl apply --dry-run=server -n ${ns} -f -`;
  }
  const renderHere = (o: RenderOptions) => renderOk({ release, namespace: ns, kubeVersion: serverVersion, ...o });

  /** Every object left in the namespace, except what Kubernetes puts in every namespace. */
  async function leftovers(): Promise<string[]> {
    const types = (await sh()`kubectl api-resources --verbs=list --namespaced -o name`).stdout
      .split('\n')
      .map((t) => t.trim())
      .filter((t) => t && !/^events(\.events\.k8s\.io)?$/.test(t));
    const names = (await sh()`kubectl get ${types.join(',')} -n ${ns} -o name --ignore-not-found`).stdout
      .split('\n')
      .filter(Boolean);
    return names.filter((n) => n !== 'configmap/kube-root-ca.crt' && n !== 'serviceaccount/default').sort();
  }

  async function podTemplateHashes(component: string): Promise<Set<string>> {
    const pods = (
      await sh()`kubectl get pods -n ${ns} -l app.kubernetes.io/instance=${release},app.kubernetes.io/component=${component} -o json`
    ).stdout;
    const items = (
      JSON.parse(pods) as { items: { metadata: { labels: Record<string, string>; deletionTimestamp?: string } }[] }
    ).items;
    return new Set(
      items.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.labels['pod-template-hash']!),
    );
  }

  const secretData = async (name: string) =>
    JSON.parse((await sh()`kubectl get secret ${name} -n ${ns} -o jsonpath={.data}`).stdout) as Record<string, string>;

  beforeAll(async () => {
    ns = await tempNamespace('chart', restricted);
    serverVersion = (await k.version()).gitVersion;
  });

  afterAll(async () => {
    for (const r of [release, 'keep'])
      await $({ env: bedEnv(), quiet: true, nothrow: true })`helm uninstall ${r} -n ${ns} --wait --timeout 60s`;
    await deleteNamespace(ns);
  });

  describe('server-side dry run in a restricted namespace: every object accepted, no Pod Security warning', () => {
    const cases: [string, () => Promise<Obj[]>, Record<string, number>][] = [
      [
        'default configuration (values.yaml + an existing Secret)',
        () => renderHere({ set: ['secrets.existingSecret=todo-secrets'] }),
        {
          ConfigMap: 2,
          Deployment: 2,
          Ingress: 1,
          NetworkPolicy: 6,
          Pod: 2,
          PodDisruptionBudget: 2,
          Secret: 1,
          Service: 4,
          ServiceAccount: 3,
          StatefulSet: 1,
        },
      ],
      [
        'all options on',
        () => renderHere({ values: allOptionsOn }),
        {
          ConfigMap: 2,
          Deployment: 2,
          HorizontalPodAutoscaler: 2,
          Ingress: 1,
          NetworkPolicy: 6,
          Pod: 2,
          PodDisruptionBudget: 2,
          Secret: 2,
          Service: 4,
          ServiceAccount: 3,
          StatefulSet: 1,
        },
      ],
      [
        'cloud profile (external database)',
        () => renderHere({ files: [profile('cloud')], set: ['secrets.existingSecret=todo-secrets'] }),
        {
          ConfigMap: 2,
          Deployment: 2,
          HorizontalPodAutoscaler: 2,
          Ingress: 1,
          NetworkPolicy: 5,
          Pod: 2,
          PodDisruptionBudget: 2,
          Service: 2,
          ServiceAccount: 2,
        },
      ],
    ];
    for (const [name, make, counts] of cases) {
      it(name, async () => {
        const objs = await make();
        expect(countByKind(objs)).toEqual(counts);
        const r = await serverDryRun(objs);
        expect(r.exitCode, r.stderr).toBe(0);
        const accepted = r.stdout.split('\n').filter((l) => l.endsWith('(server dry run)'));
        expect(accepted).toHaveLength(objs.length);
        // warn=restricted makes the API server flag any workload template that would be refused.
        expect(r.stderr).not.toMatch(/PodSecurity/);
      });
    }
  });

  it('installs with values-testbed.yaml: every Deployment and the StatefulSet become available', async () => {
    const t0 = Date.now();
    const r = await sh()`helm install ${release} ${chartDir} -n ${ns} -f ${profile('testbed')} --wait --timeout 120s`;
    // Pods exist at all only because the API server admitted them under enforce=restricted.
    await sh()`kubectl wait -n ${ns} --for=condition=Available deployment -l app.kubernetes.io/instance=${release} --timeout=60s`;
    await sh()`kubectl rollout status -n ${ns} statefulset/${release}-postgresql --timeout=60s`;
    process.stderr.write(`[chart] install + available in ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);
    for (const d of ['backend', 'frontend']) {
      const dep = await k.apps.readNamespacedDeployment({ name: `${release}-${d}`, namespace: ns });
      expect(dep.status?.availableReplicas, d).toBe(1);
    }
    const sts = await k.apps.readNamespacedStatefulSet({ name: `${release}-postgresql`, namespace: ns });
    expect(sts.status?.readyReplicas).toBe(1);
    // NOTES.txt: how to reach the app (no ingress on the bed) and what to run next.
    expect(r.stdout).toContain(`kubectl -n ${ns} port-forward svc/${release}-frontend 3000:3000`);
    expect(r.stdout).toContain('npx zx scripts/monitor.ts');
    expect(r.stdout).toContain('npx zx scripts/debug.ts');
    expect(r.stdout).toContain(`helm test ${release} -n ${ns}`);
    expect(r.stdout).toMatch(/NO persistence/);
  });

  it('an upgrade with the same values rolls nothing and keeps the generated secrets', async () => {
    const before = { backend: await podTemplateHashes('backend'), frontend: await podTemplateHashes('frontend') };
    const app = await secretData(`${release}-secrets`);
    const pg = await secretData(`${release}-postgresql`);
    await sh()`helm upgrade ${release} ${chartDir} -n ${ns} -f ${profile('testbed')} --wait --timeout 120s`;
    expect(await podTemplateHashes('backend')).toEqual(before.backend);
    expect(await podTemplateHashes('frontend')).toEqual(before.frontend);
    expect(await secretData(`${release}-secrets`)).toEqual(app);
    expect(await secretData(`${release}-postgresql`)).toEqual(pg);
  });

  it('an upgrade with a changed config value rolls that component (checksum/config), not the other', async () => {
    const before = { backend: await podTemplateHashes('backend'), frontend: await podTemplateHashes('frontend') };
    await sh()`helm upgrade ${release} ${chartDir} -n ${ns} -f ${profile('testbed')} --set backend.config.logLevel=debug --wait --timeout 120s`;
    await sh()`kubectl rollout status -n ${ns} deployment/${release}-backend --timeout=60s`;
    const cm = await k.core.readNamespacedConfigMap({ name: `${release}-backend`, namespace: ns });
    expect(cm.data?.LOG_LEVEL).toBe('debug');
    // Wait for the old pod to go (kwok's delete stage), then only the new template hash is left.
    const after = await k.waitFor<{ metadata?: { labels?: Record<string, string>; deletionTimestamp?: Date } }>({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: ns,
      labelSelector: `app.kubernetes.io/instance=${release},app.kubernetes.io/component=backend`,
      timeoutSec: 60,
      done: (pods) => pods.length === 1 && !before.backend.has(pods[0]!.metadata!.labels!['pod-template-hash']!),
      describe: (pods) => pods.map((p) => p.metadata?.labels?.['pod-template-hash']).join(','),
    });
    expect(after).toHaveLength(1);
    expect(await podTemplateHashes('frontend')).toEqual(before.frontend);
  });

  it('an upgrade with a changed secret value rolls the pods that read it, and only those (checksum/secret)', async () => {
    const before = { backend: await podTemplateHashes('backend'), frontend: await podTemplateHashes('frontend') };
    const secretValues = valuesFile({ secrets: { demoPassword: 'throwaway-demo-password' } });
    await sh()`helm upgrade ${release} ${chartDir} -n ${ns} -f ${profile('testbed')} --set backend.config.logLevel=debug -f ${secretValues} --wait --timeout 120s`;
    await sh()`kubectl rollout status -n ${ns} deployment/${release}-frontend deployment/${release}-backend --timeout=60s`;
    expect(Object.keys(await secretData(`${release}-secrets`)).sort()).toEqual(['BETTER_AUTH_SECRET', 'DEMO_PASSWORD']);
    const frontend = await podTemplateHashes('frontend');
    expect([...frontend].some((h) => !before.frontend.has(h))).toBe(true);
    // The backend reads the same Secret but not DEMO_PASSWORD: it keeps its pods.
    expect(await podTemplateHashes('backend')).toEqual(before.backend);
  });

  it('helm test hooks: admitted and scheduled under restricted; kwok cannot run them to completion', async () => {
    // `helm test` waits for each hook Pod to reach Succeeded. kwok's pod-complete stage only
    // completes pods owned by a Job, so a bare hook Pod stays Running and `helm test` would
    // time out (seen on this bed); no container would run anyway. So: create the rendered
    // hooks for real, check the API server admits them (enforce=restricted) and the scheduler
    // places them, then remove them. What they do is covered by test/unit/chart.test.ts,
    // which runs their python/node scripts against a local server.
    const hooks = await renderHere({
      files: [profile('testbed')],
      extra: [
        '--show-only',
        'templates/tests/test-backend-readyz.yaml',
        '--show-only',
        'templates/tests/test-frontend-health.yaml',
      ],
    });
    expect(hooks.map((h) => h.metadata.name).sort()).toEqual([
      `${release}-test-backend-readyz`,
      `${release}-test-frontend-health`,
    ]);
    const input = hooks.map((o) => JSON.stringify(o)).join('\n');
    await $({ env: bedEnv(), quiet: true, input })`kubectl create -n ${ns} -f -`;
    try {
      for (const h of hooks)
        await sh()`kubectl wait -n ${ns} pod/${h.metadata.name} --for=jsonpath={.status.phase}=Running --timeout=60s`;
      const node = (await sh()`kubectl get pod -n ${ns} ${release}-test-backend-readyz -o jsonpath={.spec.nodeName}`)
        .stdout;
      expect(node).toMatch(/^bed-node-/);
    } finally {
      await sh()`kubectl delete pod -n ${ns} -l app.kubernetes.io/component=test --wait=true --timeout=60s`;
    }
  });

  it('uninstall leaves nothing behind (the test bed profile has no PVC)', async () => {
    await sh()`helm uninstall ${release} -n ${ns} --wait --timeout 60s`;
    // ReplicaSets, pods, ControllerRevisions and EndpointSlices go by garbage collection: wait for them.
    await sh()`kubectl wait -n ${ns} --for=delete pods,replicasets,controllerrevisions,endpointslices,endpoints -l app.kubernetes.io/instance=${release} --timeout=60s`;
    expect(await leftovers()).toEqual([]);
  });

  it('with persistence, uninstall keeps exactly the PVC and the PostgreSQL password Secret; a reinstall reuses them', async () => {
    // The bed has no volume provisioner: the PVC stays Pending, so the StatefulSet pod does
    // too. Only the objects are checked here, without --wait.
    const r = 'keep';
    await sh()`helm install ${r} ${chartDir} -n ${ns} -f ${profile('testbed')} --set postgresql.persistence.enabled=true`;
    await sh()`kubectl wait -n ${ns} --for=create pvc/data-${r}-postgresql-0 --timeout=60s`;
    const password = (await secretData(`${r}-postgresql`)).POSTGRES_PASSWORD;
    expect(password).toBeTruthy();
    const out = await sh()`helm uninstall ${r} -n ${ns} --wait --timeout 60s`;
    expect(out.stdout + out.stderr).toContain(`[Secret] ${r}-postgresql`);
    await sh()`kubectl wait -n ${ns} --for=delete pods,replicasets,controllerrevisions,endpointslices,endpoints -l app.kubernetes.io/instance=${r} --timeout=60s`;
    expect(await leftovers()).toEqual([`persistentvolumeclaim/data-${r}-postgresql-0`, `secret/${r}-postgresql`]);
    // Reinstall: the kept Secret is adopted and its password kept (it matches the old data).
    await sh()`helm install ${r} ${chartDir} -n ${ns} -f ${profile('testbed')} --set postgresql.persistence.enabled=true`;
    expect((await secretData(`${r}-postgresql`)).POSTGRES_PASSWORD).toBe(password);
    await sh()`helm uninstall ${r} -n ${ns} --wait --timeout 60s`;
    await sh()`kubectl delete -n ${ns} pvc/data-${r}-postgresql-0 secret/${r}-postgresql --wait=true --timeout=60s`;
  });

  it('an existing app Secret without DEMO_PASSWORD (or BETTER_AUTH_SECRET) is refused at install, naming the key', async () => {
    const make = async (name: string, data: Record<string, string>) => {
      const args = Object.entries(data).map(([k, v]) => `--from-literal=${k}=${v}`);
      await sh()`kubectl create secret generic ${name} -n ${ns} ${args}`;
    };
    await make('no-demo', { BETTER_AUTH_SECRET: 'x'.repeat(40) });
    await make('no-auth', { DEMO_PASSWORD: 'pw' });
    await make('complete', { BETTER_AUTH_SECRET: 'x'.repeat(40), DEMO_PASSWORD: 'pw' });
    try {
      const install = (secret: string) =>
        $({
          env: bedEnv(),
          quiet: true,
          nothrow: true,
        })`helm install sk ${chartDir} -n ${ns} -f ${profile('testbed')} --set secrets.create=false --set secrets.existingSecret=${secret} --dry-run=server`;
      const noDemo = await install('no-demo');
      expect(noDemo.exitCode).not.toBe(0);
      expect(noDemo.stderr).toContain('secrets.existingSecret no-demo has no DEMO_PASSWORD key');
      const noAuth = await install('no-auth');
      expect(noAuth.exitCode).not.toBe(0);
      expect(noAuth.stderr).toContain('secrets.existingSecret no-auth has no BETTER_AUTH_SECRET key');
      const complete = await install('complete');
      expect(complete.exitCode, complete.stderr).toBe(0);
    } finally {
      await sh()`kubectl delete secret -n ${ns} no-demo no-auth complete --wait=true`;
    }
  });

  it('NOTES for the minikube profile give the ingress URL (server dry run install)', async () => {
    const r =
      await sh()`helm install nb ${chartDir} -n ${ns} -f ${profile('minikube')} --set secrets.existingSecret=todo-secrets --dry-run=server`;
    expect(r.stdout).toContain('http://todo.local/');
    expect(r.stdout).toContain('minikube addons enable ingress');
    expect(r.stdout).toContain('helm uninstall` keeps the PostgreSQL data (PVC data-nb-postgresql-0)');
  });
});
