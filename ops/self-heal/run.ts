// self-heal (A1): read the namespace (one List per kind), plan (plan.ts),
// act through applyPlan, write every decision to the audit stream 'self-heal'
// and send an alert where acting cannot help or stopped helping. One-shot for
// cron, or --watch: the same cycle, run again within a moment of any change
// to the namespace's pods, deployments or jobs (watches, not polling).
import type {
  V1ConfigMap,
  V1Deployment,
  V1Job,
  V1Node,
  V1Pod,
  V1Secret,
  V1Service,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { ApiException } from '../../scripts/lib/kube/k8s.ts';
import { randomBytes } from 'node:crypto';
import { debugPod, registerSecretValues } from '../../scripts/lib/diagnose/collect.ts';
import { Exit, OpsError } from '../../scripts/lib/kit/errors.ts';
import {
  needsDriftCheck,
  planHeal,
  type AuditRecord,
  type HealObserved,
  type HealParams,
  type HealPlan,
} from './plan.ts';
import { releaseDrift } from '../../scripts/lib/release/drift.ts';
import { healLimits, type SelfHealContext } from './spec.ts';
import { healWatch } from './watch.ts';
import type { Kube } from '../../scripts/lib/kube/client.ts';
import { acquireLock } from '../../scripts/lib/kit/lock.ts';
import { applyPlan } from '../../scripts/lib/kit/plan.ts';
import type { Finding } from '../../scripts/lib/kit/result.ts';
import { Scanner } from '../../scripts/lib/kube/scan.ts';

export const auditStream = 'self-heal';
export const healthyDoc = 'self-heal-release';

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof ApiException && e.code === 403) return undefined; // RBAC: that kind is not checked
    throw e;
  }
}

/** The namespace as self-heal reads it: a List per kind, whatever the number of pods. */
export async function observeHeal(
  ctx: SelfHealContext,
  kube: Kube,
  history: AuditRecord[],
  lastHealthyRevision?: number,
): Promise<HealObserved & { requests: number }> {
  const scanner = new Scanner(kube);
  const ns = ctx.namespace;
  const keys = (x: {
    metadata?: { name?: string };
    data?: Record<string, string>;
    binaryData?: Record<string, string>;
  }) => ({ name: x.metadata?.name ?? '', keys: Object.keys({ ...x.data, ...x.binaryData }) });
  const [pods, deployments, statefulSets, jobs, configMaps, secrets, nodes, revisions, services] = await Promise.all([
    scanner.list<V1Pod>('v1', 'Pod', ns, {
      project: (p) => {
        const s = debugPod(p);
        s.spec!.terminationGracePeriodSeconds = p.spec?.terminationGracePeriodSeconds;
        return s;
      },
    }),
    scanner.list<V1Deployment>('apps/v1', 'Deployment', ns),
    scanner.list<V1StatefulSet>('apps/v1', 'StatefulSet', ns),
    scanner.list<V1Job>('batch/v1', 'Job', ns),
    orUndefined(
      scanner.list<V1ConfigMap>('v1', 'ConfigMap', ns, {
        project: (c) => ({
          metadata: { name: c.metadata?.name },
          data: Object.fromEntries(Object.keys({ ...c.data, ...c.binaryData }).map((k) => [k, ''])),
        }),
      }),
    ),
    orUndefined(
      scanner.list<V1Secret>('v1', 'Secret', ns, {
        project: (s) => (
          registerSecretValues(s),
          {
            metadata: { name: s.metadata?.name },
            data: Object.fromEntries(Object.keys(s.data ?? {}).map((k) => [k, ''])),
          }
        ),
      }),
    ),
    orUndefined(
      scanner.list<V1Node>('v1', 'Node', '', {
        project: (n) => ({
          metadata: { name: n.metadata?.name },
          status: { conditions: n.status?.conditions?.filter((c) => c.type === 'Ready') },
        }),
      }),
    ),
    ctx.helm().then((h) => h.history(ctx.release, 20)),
    scanner.list<V1Service>('v1', 'Service', ns),
  ]);
  return {
    now: new Date(),
    namespace: ns,
    release: ctx.release,
    pods,
    deployments,
    statefulSets,
    jobs,
    configMaps: configMaps?.map(keys),
    secrets: secrets?.map(keys),
    notReadyNodes: (nodes ?? [])
      .filter((n) => !n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((n) => n.metadata!.name!),
    revisions: revisions.map((r) => ({ revision: r.revision, status: r.status, updated: r.updated })),
    lastHealthyRevision,
    history,
    services,
    requests: scanner.requests + 1,
  };
}

/** Carries out one planned step. */
async function act(ctx: SelfHealContext, kube: Kube, p: HealParams, dryRun: boolean): Promise<string> {
  const obj = { metadata: { name: p.name, namespace: p.namespace } };
  switch (p.step) {
    case 'delete-pod':
      await kube.delete({ apiVersion: 'v1', kind: 'Pod', ...obj }, dryRun);
      return dryRun ? 'server dry run' : 'deleted; its controller makes a new one';
    case 'force-delete-pod':
      await kube.delete({ apiVersion: 'v1', kind: 'Pod', ...obj }, dryRun, { gracePeriodSeconds: 0 });
      return dryRun ? 'server dry run' : 'force-deleted';
    case 'restart':
      // What `kubectl rollout restart` does: a new template annotation; replicas (an HPA's) are not touched.
      await kube.mergePatch(
        {
          apiVersion: 'apps/v1',
          kind: p.kind,
          ...obj,
          spec: {
            template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } },
          },
        } as never,
        dryRun,
      );
      return dryRun ? 'server dry run' : 'rollout restarted';
    case 'rollback': {
      if (dryRun) return `would roll back to revision ${p.revision}`;
      await (await ctx.helm()).rollback(p.name, p.revision, { wait: true, timeoutSec: ctx.timeoutSec });
      return `rolled back to revision ${p.revision}`;
    }
    case 'reapply': {
      // A rollback to the newest revision itself: helm's three-way merge puts back every field that
      // revision sets, recorded as a new revision ("Rollback to N"), with no chart or values needed.
      if (dryRun) return `would re-apply revision ${p.revision}`;
      await (await ctx.helm()).rollback(p.name, p.revision, { wait: true, timeoutSec: ctx.timeoutSec });
      return `re-applied revision ${p.revision}`;
    }
  }
}

function issueFindings(plan: HealPlan, statusOf: (d: AuditRecord) => string | undefined, ns: string): Finding[] {
  return plan.decisions
    .filter((d) => d.decision !== 'healthy')
    .map((d) => {
      const issue = plan.issues.find((i) => i.object === d.object);
      const status = statusOf(d);
      const handled = d.decision === 'act' && (status === 'done' || status === 'planned');
      const [kind, name] = (d.object ?? '/').split('/') as [string, string];
      return {
        name: `self-heal: ${d.decision}`,
        level: handled ? 'warn' : d.decision === 'cooldown' ? 'warn' : 'fail',
        // A problem acted on, or one whose action needs time to show, does not fail the run; one left alone does.
        ...(handled || d.decision === 'cooldown' ? { required: false } : {}),
        detail: `${issue?.detail ?? d.object}: ${d.reason}`,
        object: { kind: kind.charAt(0).toUpperCase() + kind.slice(1), name, namespace: ns },
        evidence: {
          problem: d.problem,
          workload: d.workload,
          decision: d.decision,
          ...(d.step ? { step: d.step } : {}),
          ...(status ? { status } : {}),
        },
      } satisfies Finding;
    });
}

export interface CycleOutcome {
  plan: HealPlan;
  skipped?: string;
}

/** One look and one round of actions, under the release lock. */
export async function healCycle(
  ctx: SelfHealContext,
  o: { lockBusy: 'throw' | 'skip' } = { lockBusy: 'throw' },
): Promise<CycleOutcome | undefined> {
  const kube = await ctx.kube();
  const state = await ctx.state();
  let release: (() => void) | undefined;
  try {
    release = await acquireLock(
      ctx.cfg.TODO_STATE_DIR,
      { context: kube.contextName, namespace: ctx.namespace, release: ctx.release },
      'self-heal',
    );
  } catch (e) {
    if (o.lockBusy === 'skip' && e instanceof OpsError && e.code === Exit.busy) {
      ctx.out.debug(`self-heal: ${e.message}; this round is skipped`);
      return undefined;
    }
    throw e;
  }
  try {
    const limits = healLimits(ctx.cfg);
    const run = randomBytes(4).toString('hex');
    const history = state.history<AuditRecord>(auditStream, {
      since: new Date(Date.now() - limits.windowSec * 1000),
      limit: 100_000,
    }) as AuditRecord[];
    const lastHealthy = state.readJson<{ revision: number }>(healthyDoc)?.revision;
    const observed = await observeHeal(ctx, kube, history, lastHealthy);
    // Drift is looked for only when something of the release fails: a healthy round costs no more.
    if (needsDriftCheck(observed, limits)) {
      const manifest = await (await ctx.helm()).getManifest(ctx.release);
      const drift = await releaseDrift(ctx, manifest);
      observed.drift = drift.items.map((d) => ({ object: d.object, path: d.path }));
      observed.requests += drift.requests + 1;
      (ctx.result.data as { drift?: unknown }).drift = drift.items;
    }
    const plan = planHeal(observed, limits);
    const done = await applyPlan<HealParams>(ctx, plan.actions, (a, dryRun) => act(ctx, kube, a.params!, dryRun), {
      continueOnFailure: true,
      serverDryRun: true,
    });
    const statusOf = (d: AuditRecord) => (d.action !== undefined ? done[d.action]?.status : undefined);
    for (const f of issueFindings(plan, statusOf, ctx.namespace)) ctx.result.finding(f);
    // The audit: every decision, acted on or not, and why.
    for (const d of plan.decisions) {
      const { action: _index, ...rest } = d;
      const status = statusOf(d);
      state.append(auditStream, {
        run,
        ...rest,
        ...(status ? { status } : {}),
        ...(ctx.dryRun ? { dryRun: true } : {}),
        ...(d.action !== undefined && done[d.action]?.detail ? { detail: done[d.action]!.detail } : {}),
      });
    }
    if (plan.healthyRevision !== undefined && !ctx.dryRun && plan.healthyRevision !== lastHealthy)
      state.writeJson(healthyDoc, { revision: plan.healthyRevision, at: new Date().toISOString() });
    state.prune({ maxAgeDays: ctx.cfg.TODO_SELF_HEAL_KEEP_DAYS, streams: [auditStream] });
    await sendAlerts(ctx, plan);
    const data = ctx.result.data as { cycles?: number; requests?: number; decisions?: number; pods?: number };
    data.cycles = (data.cycles ?? 0) + 1;
    data.requests = (data.requests ?? 0) + observed.requests;
    data.decisions = (data.decisions ?? 0) + plan.decisions.length;
    data.pods = observed.pods.length;
    if (plan.healthyRevision !== undefined)
      (ctx.result.data as Record<string, unknown>).healthyRevision = plan.healthyRevision;
    return { plan };
  } finally {
    release();
  }
}

/** Alerts through the notifier (deduplicated across runs by key) and on stderr; not sent under --dry-run. */
async function sendAlerts(ctx: SelfHealContext, plan: HealPlan): Promise<void> {
  if (!plan.alerts.length) return;
  const notifier = ctx.dryRun ? undefined : await ctx.notifier();
  const sent: string[] = [];
  for (const a of plan.alerts) {
    ctx.out.warn(`self-heal alert: ${a.title}`);
    if (!notifier) continue;
    try {
      const d = await notifier.send({
        title: a.title,
        text: a.text,
        level: a.level,
        dedupKey: `self-heal:${a.key}`,
        script: 'self-heal',
        namespace: ctx.namespace,
        release: ctx.release,
        context: ctx.context || undefined,
      });
      if (d.status === 'sent') sent.push(a.key);
    } catch (e) {
      ctx.result.finding({
        name: 'alert delivery',
        level: 'fail',
        detail: `could not send "${a.title}": ${(e as Error).message}`,
        hint: 'check TODO_WEBHOOK_URL; the problem itself is in the findings above',
      });
    }
  }
  const data = ctx.result.data as { alerts?: string[]; alertsSent?: string[] };
  data.alerts = [...(data.alerts ?? []), ...plan.alerts.map((a) => a.title)];
  data.alertsSent = [...(data.alertsSent ?? []), ...sent];
}

export async function runSelfHeal(ctx: SelfHealContext): Promise<void> {
  const opts = ctx.opts;
  if (opts.watch)
    await healWatch(ctx, { forSec: opts.for ?? 0, cycle: () => healCycle(ctx, { lockBusy: 'skip' }), auditStream });
  else await healCycle(ctx);
  if (opts.agent) {
    // What acting could not fix (or stopped fixing): for the agent to explain.
    const left = ctx.result.findings
      .filter((f) => f.level === 'fail' && f.name.startsWith('self-heal:'))
      .map((f) => f.detail);
    const { handToAgent } = await import('../../scripts/lib/ai/kagent/invoke.ts');
    await handToAgent(ctx, 'TODO_KAGENT_HEAL_AGENT', [...new Set(left)].slice(0, 20));
  }
}
