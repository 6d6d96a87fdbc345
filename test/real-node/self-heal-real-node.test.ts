// self-heal on the bed's real node (containerd + runc: real restarts), run as
// a process like cron runs it: a crash loop whose cause lives in the pod is
// healed by deleting the pod; a bad upgrade is rolled back to the last healthy
// revision and serves again; a missing Secret key gets no action and one alert
// with its cause, whatever the number of runs; a second run while the release
// lock is held exits 5. Alerts go to a webhook receiver on loopback.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insideExec } from '../../scripts/lib/local-cluster/node.ts';
import { bedEnv, deleteNamespace, fixture, kube, sh, tempNamespace } from '../helpers/cluster.ts';
import { assertFailure, repoRoot, run, scratchEnv } from '../helpers/run.ts';
import { tsNodeFlags } from '../../scripts/lib/kit/node-flags.ts';

interface Doc {
  exitCode: number;
  actions: { what: string; target: string; status: string; detail?: string }[];
  findings: { name: string; level: string; detail: string; evidence?: Record<string, unknown> }[];
  data: Record<string, any>;
}
interface Audit {
  decision: string;
  workload?: string;
  step?: string;
  status?: string;
  reason: string;
  run: string;
}

const release = 'heal';
const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const restricted = {
  runAsNonRoot: true,
  runAsUser: 10001,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

describe('self-heal on the real node', () => {
  let ns = '';
  let env: NodeJS.ProcessEnv;
  let server: http.Server;
  const received: { title: string; text?: string }[] = [];
  const k = kube();
  const selfHeal = (...args: string[]) => run('ops/self-heal.ts', ['-o', 'json', ...args], { env, timeoutMs: 120_000 });
  const audit = (): Audit[] =>
    fs
      .readFileSync(
        path.join(env.TODO_STATE_DIR!, fs.readdirSync(env.TODO_STATE_DIR!)[0]!, ns, 'self-heal.jsonl'),
        'utf8',
      )
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  const webPods = async () => live(await k.list<V1Pod>('v1', 'Pod', ns, `app=${release}-web`));
  const live = (ps: readonly V1Pod[]) => ps.filter((p) => !p.metadata?.deletionTimestamp);
  const waitPods = async (what: string, done: (ps: readonly V1Pod[]) => boolean, selector = `app=${release}-web`) =>
    live(
      await k.waitFor<V1Pod>({
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: ns,
        labelSelector: selector,
        timeoutSec: 90,
        done: (ps) => done(live(ps)),
        describe: (ps) =>
          `${what}: ${JSON.stringify(ps.map((p) => [p.metadata?.name, p.status?.containerStatuses?.[0]?.state, p.status?.containerStatuses?.[0]?.restartCount]))}`,
      }),
    );

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req
        .on('data', (d) => (body += d))
        .on('end', () => {
          received.push(JSON.parse(body));
          res.writeHead(200).end('ok');
        });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    ns = await tempNamespace('heal-real');
    env = {
      ...bedEnv(),
      ...scratchEnv({
        TODO_NAMESPACE: ns,
        TODO_RELEASE: release,
        TODO_TIMEOUT: '90',
        TODO_WEBHOOK_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
        TODO_WEBHOOK_FORMAT: 'json',
        TODO_WEBHOOK_RETRIES: '0',
      }),
    };
    await Promise.all([
      sh()`helm install ${release} ${fixture('self-heal-chart')} -n ${ns} --wait --timeout 90s`,
      // A configuration fault: the Secret lacks the key the container needs (CreateContainerConfigError, never started).
      k
        .apply({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'app-secrets', namespace: ns },
          type: 'Opaque',
          stringData: { DB_PASSWORD: 'bed-only' },
        })
        .then(() =>
          k.apply({
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'cfg', namespace: ns },
            spec: {
              replicas: 1,
              selector: { matchLabels: { app: 'cfg' } },
              template: {
                metadata: { labels: { app: 'cfg' } },
                spec: {
                  nodeSelector: { type: 'real' },
                  tolerations: [{ key: 'todo-ops.test/real-node', operator: 'Exists', effect: 'NoSchedule' }],
                  automountServiceAccountToken: false,
                  terminationGracePeriodSeconds: 1,
                  containers: [
                    {
                      name: 'app',
                      image: 'localhost/todo-chatbot-backend:images-test',
                      imagePullPolicy: 'Never',
                      securityContext: restricted,
                      command: ['python', '-c', 'import time; time.sleep(600)'],
                      env: [
                        {
                          name: 'OPENAI_API_KEY',
                          valueFrom: { secretKeyRef: { name: 'app-secrets', key: 'OPENAI_API_KEY' } },
                        },
                      ],
                    },
                  ],
                },
              },
            },
          }),
        ),
    ]);
    await waitPods(
      'cfg: CreateContainerConfigError',
      (ps) => ps[0]?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError',
      'app=cfg',
    );
    // The first run sees revision 1 healthy (remembered as the rollback target) and the configuration fault.
    const r = await selfHeal();
    const doc = r.json<Doc>();
    expect(r.status, r.output).toBe(1);
    expect(doc.data.healthyRevision).toBe(1);
    expect(doc.actions).toEqual([]);
  }, 150_000);
  afterAll(async () => {
    server?.close();
    if (ns) await deleteNamespace(ns);
  });

  it('a crash loop whose cause is in the pod: the pod is deleted and its replacement is Ready', async () => {
    const [before] = await webPods();
    // The container's state turns bad: it exits 2 now and at every restart (kept in the pod's emptyDir).
    await sh()`kubectl -n ${ns} exec ${before!.metadata!.name} -c web -- python -c ${"open('/data/poison', 'w')"}`;
    await waitPods(
      'crash-looping',
      (ps) => ps.length === 1 && (ps[0]!.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 && !ready(ps[0]!),
    );
    const r = await selfHeal();
    const doc = r.json<Doc>();
    expect(doc.actions, r.output).toEqual([
      expect.objectContaining({ what: 'delete pod', target: `pod/${before!.metadata!.name}`, status: 'done' }),
    ]);
    const after = await waitPods(
      'replacement Ready',
      (ps) => ps.length === 1 && ps[0]!.metadata!.uid !== before!.metadata!.uid && ready(ps[0]!),
    );
    expect(after[0]!.status!.containerStatuses![0]!.restartCount).toBe(0);
    expect(audit().filter((a) => a.decision === 'act')).toEqual([
      expect.objectContaining({ workload: `deployment/${release}-web`, step: 'delete-pod', status: 'done' }),
    ]);
  }, 120_000);

  it('a bad upgrade (the new revision crash-loops): rolled back to the last healthy revision, serving again', async () => {
    await sh()`helm upgrade ${release} ${fixture('self-heal-chart')} -n ${ns} --set crash=true`;
    await waitPods('new revision crash-looping', (ps) =>
      ps.some(
        (p) =>
          (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 && p.spec!.containers[0]!.env![0]!.value === '1',
      ),
    );
    const r = await selfHeal();
    const doc = r.json<Doc>();
    expect(doc.actions, r.output).toEqual([
      expect.objectContaining({
        what: 'helm rollback',
        target: `release/${release}`,
        status: 'done',
        detail: 'rolled back to revision 1',
      }),
    ]);
    const history = (await sh()`helm history ${release} -n ${ns} -o json`).json() as {
      revision: number;
      status: string;
      description: string;
    }[];
    expect(history.at(-1)).toMatchObject({ revision: 3, status: 'deployed', description: 'Rollback to 1' });
    const pods = await waitPods(
      'revision 1 only, Ready',
      (ps) => ps.length === 1 && ready(ps[0]!) && ps[0]!.spec!.containers[0]!.env![0]!.value === '0',
    );
    expect(pods).toHaveLength(1);
    const answer = (
      await insideExec([
        'curl',
        '-sS',
        '-m',
        '10',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        `http://${release}-web.${ns}.svc.cluster.local:8000/`,
      ])
    ).stdout;
    expect(answer).toBe('200');
  }, 120_000);

  it('a missing Secret key: never acted on (no restart, no delete) and alerted exactly once, with the cause', async () => {
    const [cfg] = await k.list<V1Pod>('v1', 'Pod', ns, 'app=cfg');
    expect(cfg!.status!.containerStatuses![0]!.restartCount).toBe(0);
    const decisions = audit().filter((a) => a.workload === 'deployment/cfg');
    expect(decisions.length).toBeGreaterThanOrEqual(3); // one per run so far
    expect(decisions.every((d) => d.decision === 'cannot-help')).toBe(true);
    const alerts = received.filter((n) => n.title.includes('deployment/cfg'));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.title).toContain('refers to a missing key OPENAI_API_KEY of Secret app-secrets');
  });

  it('a second run while another holds the release lock: exit 5 naming the holder', async () => {
    const holder = spawn(
      process.execPath,
      [...tsNodeFlags(), path.join(repoRoot, 'node_modules/zx/build/cli.js'), fixture('locker.ts')],
      { env: { ...env, FORCE_COLOR: '0' }, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    await new Promise<void>((resolve) => {
      for (const s of [holder.stdout!, holder.stderr!])
        s.on('data', (d) => String(d).includes('holding the lock') && resolve());
    });
    try {
      const r = await selfHeal();
      assertFailure(r, 5);
      expect(r.stderr).toMatch(/self-heal: .*locker/);
      expect(r.json<Doc>().actions).toEqual([]);
    } finally {
      holder.stdin!.end();
    }
  }, 60_000);
});
