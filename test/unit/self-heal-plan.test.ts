// self-heal's decisions on plain data: what it acts on, the ladder, the
// budgets and cooldowns across runs, rollback only for a bad newest revision,
// and no action where acting cannot help.
import type { V1Deployment, V1Job, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  needsDriftCheck,
  planHeal,
  type AuditRecord,
  type HealLimits,
  type HealObserved,
} from '../../ops/self-heal/plan.ts';

const now = new Date('2026-01-01T12:00:00Z');
const ago = (s: number) => new Date(now.getTime() - s * 1000).toISOString();
const limits: HealLimits = {
  graceSec: 300,
  terminatingSec: 60,
  maxActions: 5,
  maxPerWorkload: 3,
  windowSec: 3600,
  cooldownSec: 120,
};

const dep = (
  name: string,
  o: { release?: string; replicas?: number; ready?: number; stuck?: boolean } = {},
): V1Deployment => ({
  metadata: { name, labels: o.release ? { 'app.kubernetes.io/instance': o.release } : {} },
  spec: { replicas: o.replicas ?? 1, selector: { matchLabels: { app: name } }, template: {} },
  status: {
    readyReplicas: o.ready ?? o.replicas ?? 1,
    updatedReplicas: o.replicas ?? 1,
    ...(o.stuck ? { conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] } : {}),
  },
});
const ready = [{ type: 'Ready', status: 'True' }];
const pod = (
  name: string,
  owner: string | undefined,
  state: 'ok' | 'crash' | 'notready' | 'config' | 'image' | 'oom' | 'terminating',
  o: { age?: number; node?: string; app?: string } = {},
): V1Pod => {
  const cs = {
    ok: { name: 'app', ready: true, restartCount: 0, state: { running: {} } },
    crash: {
      name: 'app',
      ready: false,
      restartCount: 4,
      state: { waiting: { reason: 'CrashLoopBackOff' } },
      lastState: { terminated: { exitCode: 1, reason: 'Error' } },
    },
    notready: { name: 'app', ready: false, restartCount: 0, state: { running: {} } },
    config: {
      name: 'app',
      ready: false,
      restartCount: 0,
      state: {
        waiting: {
          reason: 'CreateContainerConfigError',
          message: "couldn't find key OPENAI_API_KEY in Secret app-secrets",
        },
      },
    },
    image: { name: 'app', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff' } } },
    oom: {
      name: 'app',
      ready: false,
      restartCount: 3,
      state: { waiting: { reason: 'CrashLoopBackOff' } },
      lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } },
    },
    terminating: { name: 'app', ready: true, restartCount: 0, state: { running: {} } },
  }[state];
  return {
    metadata: {
      name,
      labels: { app: o.app ?? owner ?? name },
      creationTimestamp: ago(o.age ?? 600) as never,
      ...(owner
        ? {
            ownerReferences: [
              { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${owner}-5d9f7`, uid: 'u', controller: true },
            ],
          }
        : {}),
      ...(state === 'terminating' ? { deletionTimestamp: ago(400) as never } : {}),
    },
    spec: {
      nodeName: o.node ?? 'n1',
      terminationGracePeriodSeconds: 30,
      containers: [
        {
          name: 'app',
          image: 'x',
          ...(state === 'config'
            ? {
                env: [
                  {
                    name: 'OPENAI_API_KEY',
                    valueFrom: { secretKeyRef: { name: 'app-secrets', key: 'OPENAI_API_KEY' } },
                  },
                ],
              }
            : {}),
        },
      ],
    },
    status: {
      phase: 'Running',
      conditions: state === 'ok' || state === 'terminating' ? ready : [{ type: 'Ready', status: 'False' }],
      containerStatuses: [cs as never],
    },
  };
};
const observed = (o: Partial<HealObserved>): HealObserved => ({
  now,
  namespace: 'ns',
  release: 'rel',
  pods: [],
  deployments: [],
  statefulSets: [],
  jobs: [],
  configMaps: [],
  secrets: [{ name: 'app-secrets', keys: ['DB_PASSWORD'] }],
  notReadyNodes: [],
  revisions: [],
  history: [],
  ...o,
});
const acted = (
  workload: string,
  secsAgo: number,
  run: string,
  step: AuditRecord['step'] = 'delete-pod',
): AuditRecord => ({
  at: ago(secsAgo),
  run,
  decision: 'act',
  workload,
  object: workload,
  step,
  status: 'done',
  reason: 'x',
});

describe('planHeal', () => {
  it('a healthy namespace of 500 pods: no action, no alert, one "healthy" record', () => {
    const pods = Array.from({ length: 500 }, (_, i) => pod(`web-${i}`, 'web', 'ok'));
    const p = planHeal(
      observed({
        pods,
        deployments: [dep('web', { replicas: 500, release: 'rel' })],
        revisions: [{ revision: 3, status: 'deployed', updated: ago(900) }],
      }),
      limits,
    );
    expect(p.actions).toEqual([]);
    expect(p.alerts).toEqual([]);
    expect(p.decisions).toEqual([expect.objectContaining({ decision: 'healthy' })]);
    expect(p.healthyRevision).toBe(3);
  });

  it('a crash-looping pod of a Deployment: delete it (unattended), nothing else touched', () => {
    const p = planHeal(
      observed({
        pods: [pod('api-1', 'api', 'crash'), pod('web-1', 'web', 'ok')],
        deployments: [dep('api', { ready: 0 }), dep('web')],
      }),
      limits,
    );
    expect(p.actions).toEqual([
      expect.objectContaining({
        what: 'delete pod',
        target: 'pod/api-1',
        destructive: true,
        unattended: true,
        params: expect.objectContaining({ step: 'delete-pod', name: 'api-1' }),
      }),
    ]);
    expect(p.decisions).toEqual([
      expect.objectContaining({ decision: 'act', workload: 'deployment/api', step: 'delete-pod', level: 1, action: 0 }),
    ]);
  });

  it('the ladder: after a delete that did not help, a rollout restart; after that and one more, it gives up and alerts', () => {
    const o = { pods: [pod('api-2', 'api', 'crash')], deployments: [dep('api', { ready: 0 })] };
    const second = planHeal(observed({ ...o, history: [acted('deployment/api', 300, 'r1')] }), limits);
    expect(second.actions).toEqual([
      expect.objectContaining({
        what: 'rollout restart',
        target: 'deployment/api',
        params: expect.objectContaining({ step: 'restart', kind: 'Deployment', name: 'api' }),
      }),
    ]);
    const history = [
      acted('deployment/api', 300, 'r3', 'restart'),
      acted('deployment/api', 600, 'r2', 'restart'),
      acted('deployment/api', 900, 'r1'),
    ];
    const fourth = planHeal(observed({ ...o, history }), limits);
    expect(fourth.actions).toEqual([]);
    expect(fourth.decisions[0]).toMatchObject({ decision: 'gave-up' });
    expect(fourth.alerts).toEqual([
      expect.objectContaining({
        key: 'gave-up:deployment/api',
        title: expect.stringContaining('3 step(s) did not help'),
      }),
    ]);
  });

  it('cooldown: a workload acted on 30 s ago is left alone (across runs: from the audit history)', () => {
    const p = planHeal(
      observed({
        pods: [pod('api-3', 'api', 'crash')],
        deployments: [dep('api', { ready: 0 })],
        history: [acted('deployment/api', 30, 'r1')],
      }),
      limits,
    );
    expect(p.actions).toEqual([]);
    expect(p.decisions[0]).toMatchObject({ decision: 'cooldown', reason: expect.stringContaining('waiting 90s more') });
  });

  it('a storm: 30 failing pods get at most maxActions actions, the rest a budget decision and one alert', () => {
    const pods = Array.from({ length: 30 }, (_, i) => pod(`storm-${String(i).padStart(2, '0')}`, 'storm', 'crash'));
    const p = planHeal(observed({ pods, deployments: [dep('storm', { replicas: 30, ready: 0 })] }), limits);
    expect(p.actions).toHaveLength(5);
    expect(p.decisions.filter((d) => d.decision === 'budget')).toHaveLength(25);
    expect(p.alerts).toEqual([
      expect.objectContaining({ key: 'budget', title: expect.stringContaining('25 problem(s) left untreated') }),
    ]);
    // The budget counts across runs: with 5 actions done in the window, nothing more.
    const later = planHeal(
      observed({
        pods,
        deployments: [dep('storm', { replicas: 30, ready: 0 })],
        history: Array.from({ length: 5 }, (_, i) => acted('deployment/other', 1000, `r${i}`)),
      }),
      limits,
    );
    expect(later.actions).toEqual([]);
  });

  it('acting cannot help: a missing Secret key, an image pull error, OOMKilled, a node that is not Ready, a bare pod: no action, an alert with the cause', () => {
    const pods = [
      pod('cfg-1', 'cfg', 'config'),
      pod('img-1', 'img', 'image'),
      pod('oom-1', 'oom', 'oom'),
      pod('nd-1', 'nd', 'crash', { node: 'dead' }),
      pod('bare', undefined, 'crash'),
    ];
    const p = planHeal(
      observed({
        pods,
        deployments: ['cfg', 'img', 'oom', 'nd'].map((n) => dep(n, { ready: 0 })),
        notReadyNodes: ['dead'],
      }),
      limits,
    );
    expect(p.actions).toEqual([]);
    expect(p.decisions.map((d) => d.decision)).toEqual(Array(5).fill('cannot-help'));
    const title = (w: string) => p.alerts.find((a) => a.key.includes(w))!.title;
    expect(title('deployment/cfg')).toContain(
      'refers to a missing key OPENAI_API_KEY of Secret app-secrets (env OPENAI_API_KEY)',
    );
    expect(title('deployment/img')).toContain('ImagePullBackOff');
    expect(title('deployment/oom')).toContain('OOMKilled');
    expect(title('deployment/nd')).toContain('node dead is not Ready');
    expect(title('pod/bare')).toContain('bare pod');
  });

  it('not Ready within the grace period is starting, past it a problem; stuck Terminating is force-deleted', () => {
    const p = planHeal(
      observed({
        pods: [
          pod('young', 'a', 'notready', { age: 60 }),
          pod('old', 'b', 'notready', { age: 900 }),
          pod('gone', 'c', 'terminating'),
        ],
        deployments: ['a', 'b', 'c'].map((n) => dep(n)),
      }),
      limits,
    );
    expect(p.actions.map((a) => [a.what, a.target])).toEqual([
      ['delete pod', 'pod/old'],
      ['force delete pod', 'pod/gone'],
    ]);
  });

  it('a stuck rollout: rollout restart; a failed Job: reported, not acted on', () => {
    const job: V1Job = {
      metadata: { name: 'migrate' },
      status: { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] },
    };
    const p = planHeal(observed({ deployments: [dep('api', { stuck: true, ready: 0 })], jobs: [job] }), limits);
    expect(p.actions).toEqual([expect.objectContaining({ what: 'rollout restart', target: 'deployment/api' })]);
    expect(p.decisions.find((d) => d.workload === 'job/migrate')).toMatchObject({ decision: 'report' });
  });

  it('a bad newest revision: helm rollback to the last healthy one, once; never when the newest was healthy before', () => {
    const revisions = [
      { revision: 1, status: 'superseded', updated: ago(3600) },
      { revision: 2, status: 'deployed', updated: ago(120) },
    ];
    const o = {
      pods: [pod('api-9', 'api', 'crash', { age: 100 })],
      deployments: [dep('api', { release: 'rel', ready: 0 })],
      revisions,
      lastHealthyRevision: 1,
    };
    const p = planHeal(observed(o), limits);
    expect(p.actions).toEqual([
      expect.objectContaining({
        what: 'helm rollback',
        target: 'release/rel',
        params: expect.objectContaining({ step: 'rollback', revision: 1 }),
      }),
    ]);
    const again = planHeal(observed({ ...o, history: [acted('release/rel', 60, 'r1', 'rollback')] }), limits);
    expect(again.actions).toEqual([]);
    expect(again.alerts[0]).toMatchObject({ key: 'gave-up:release/rel' });
    // Revision 2 was healthy before: the pod's crash is not the revision's doing, so the ladder applies.
    expect(planHeal(observed({ ...o, lastHealthyRevision: 2 }), limits).actions).toEqual([
      expect.objectContaining({ what: 'delete pod' }),
    ]);
    // The failing pod is older than the revision: not the revision's doing either.
    expect(planHeal(observed({ ...o, pods: [pod('api-9', 'api', 'crash', { age: 900 })] }), limits).actions).toEqual([
      expect.objectContaining({ what: 'delete pod' }),
    ]);
  });

  it('a newest revision whose image cannot be pulled: rolled back to the last healthy one, like a crash loop; an older pod that cannot pull is still left alone', () => {
    const o = {
      pods: [pod('api-9', 'api', 'image', { age: 100 })],
      deployments: [dep('api', { release: 'rel', ready: 0 })],
      revisions: [
        { revision: 1, status: 'superseded', updated: ago(3600) },
        { revision: 2, status: 'deployed', updated: ago(120) },
      ],
      lastHealthyRevision: 1,
    };
    const p = planHeal(observed(o), limits);
    expect(p.actions).toEqual([
      expect.objectContaining({
        what: 'helm rollback',
        target: 'release/rel',
        params: expect.objectContaining({ step: 'rollback', revision: 1 }),
      }),
    ]);
    expect(p.alerts).toEqual([]);
    // Made before the newest revision: not its doing; nothing self-heal can do, and it says so.
    const old = planHeal(observed({ ...o, pods: [pod('api-9', 'api', 'image', { age: 900 })] }), limits);
    expect(old.actions).toEqual([]);
    expect(old.decisions.map((d) => d.decision)).toEqual(['cannot-help']);
  });

  it('drift into failure: an image set by hand that cannot be pulled is healed by re-applying the newest revision, within the cooldown and the per-target budget', () => {
    const o = {
      pods: [pod('api-9', 'api', 'image', { age: 900 }), pod('api-8', 'api', 'image', { age: 900 })],
      deployments: [dep('api', { release: 'rel', ready: 0 })],
      revisions: [{ revision: 3, status: 'deployed', updated: ago(3000) }],
      lastHealthyRevision: 3,
      drift: [{ object: 'Deployment/api', path: 'spec.template.spec.containers[app].image' }],
    };
    const p = planHeal(observed(o), limits);
    expect(p.actions).toEqual([
      expect.objectContaining({
        what: 'helm re-apply',
        target: 'release/rel',
        destructive: true,
        unattended: true,
        params: { step: 'reapply', kind: 'Release', name: 'rel', namespace: 'ns', revision: 3 },
      }),
    ]);
    expect(p.actions[0]!.reason).toContain('Deployment/api spec.template.spec.containers[app].image');
    expect(p.decisions.map((d) => d.decision).sort()).toEqual(['act', 'report']);
    expect(p.alerts).toEqual([]);
    // Without drift the same pods are a plain "cannot help" (and alerted).
    const plain = planHeal(observed({ ...o, drift: [] }), limits);
    expect(plain.actions).toEqual([]);
    expect(plain.alerts).toHaveLength(1);
    // Re-applied 30 s ago: wait; after maxPerWorkload re-applies in the window: give up and alert.
    const cooling = planHeal(observed({ ...o, history: [acted('deployment/api', 30, 'r1', 'reapply')] }), limits);
    expect(cooling.actions).toEqual([]);
    expect(cooling.decisions.map((d) => d.decision).sort()).toEqual(['cooldown', 'report']);
    const spent = planHeal(
      observed({
        ...o,
        history: [1, 2, 3].map((k) => acted('deployment/api', 600 * k, `r${k}`, 'reapply')),
      }),
      limits,
    );
    expect(spent.actions).toEqual([]);
    expect(spent.alerts[0]).toMatchObject({ key: 'gave-up:release/rel:drift', level: 'fail' });
    // The overall budget holds too.
    expect(planHeal(observed(o), { ...limits, maxActions: 0 }).decisions.some((d) => d.decision === 'budget')).toBe(
      true,
    );
  });

  it('a drifted Service of the release that selects no Ready pod: re-applied; the drift check is asked for only when something of the release fails', () => {
    const svc = (sel: Record<string, string>) => ({
      metadata: { name: 'web', labels: { 'app.kubernetes.io/instance': 'rel' } },
      spec: { selector: sel },
    });
    const o = {
      pods: [pod('web-1', 'web', 'ok')],
      deployments: [dep('web', { release: 'rel' })],
      revisions: [{ revision: 2, status: 'deployed', updated: ago(3000) }],
      services: [svc({ app: 'nobody' })],
    };
    expect(needsDriftCheck(observed(o), limits)).toBe(true);
    expect(needsDriftCheck(observed({ ...o, services: [svc({ app: 'web' })] }), limits)).toBe(false);
    expect(needsDriftCheck(observed({ ...o, revisions: [] }), limits)).toBe(false);
    const p = planHeal(observed({ ...o, drift: [{ object: 'Service/web', path: 'spec.selector.app' }] }), limits);
    expect(p.issues).toEqual([expect.objectContaining({ problem: 'NoEndpoints', object: 'service/web' })]);
    expect(p.actions).toEqual([expect.objectContaining({ what: 'helm re-apply', target: 'release/rel' })]);
    expect(p.healthyRevision).toBeUndefined();
  });

  it('maxActions 0: report only', () => {
    const p = planHeal(observed({ pods: [pod('api-1', 'api', 'crash')], deployments: [dep('api')] }), {
      ...limits,
      maxActions: 0,
    });
    expect(p.actions).toEqual([]);
    expect(p.decisions[0]).toMatchObject({ decision: 'budget' });
  });
});
