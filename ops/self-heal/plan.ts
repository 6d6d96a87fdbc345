// self-heal's decisions (pure): the namespace as read and self-heal's own audit
// history in, one decision per problem (act, or why not) and the actions out.
// Guard rails live here, so they are tested on plain data: a budget of actions
// per window and per workload, a cooldown after acting on a workload, an
// escalation ladder (delete the pod, then restart the rollout, then give up and
// alert), a helm rollback only when the newest revision is the cause (crash
// loops and images that cannot be pulled alike), a re-apply of the release when
// its live objects drifted into failure, and no action where acting cannot help
// (missing config, missing image, node-level).
// Replica counts are never changed, so an HPA's decisions are left alone.
import type { V1Deployment, V1Job, V1Pod, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import { describeRef, missingRefs, selects, type KeysOnly } from '../../scripts/lib/diagnose/refs.ts';
import { oomKilled, podProblem, reasonClass } from '../../scripts/lib/kube/pod-status.ts';
import type { PlannedAction } from '../../scripts/lib/kit/plan.ts';
import type { Level } from '../../scripts/lib/kit/result.ts';

export interface HealLimits {
  /** a pod not Ready for longer than this (seconds) is a problem */
  graceSec: number;
  /** a pod Terminating this long past its grace period is stuck */
  terminatingSec: number;
  /** at most this many actions per window, all workloads together */
  maxActions: number;
  /** at most this many remediation steps per workload per window */
  maxPerWorkload: number;
  windowSec: number;
  /** after acting on a workload, wait this long before acting on it again */
  cooldownSec: number;
}

interface Revision {
  revision: number;
  status: string;
  /** helm's "updated" time */
  updated: string;
}

type Problem = 'CrashLoopBackOff' | 'NotReady' | 'Terminating' | 'JobFailed' | 'RolloutStuck' | 'NoEndpoints';
type Decision = 'act' | 'cannot-help' | 'cooldown' | 'budget' | 'gave-up' | 'report';
type HealStep = 'delete-pod' | 'force-delete-pod' | 'restart' | 'rollback' | 'reapply';

/** One line of the audit history (state stream 'self-heal'). */
export interface AuditRecord {
  at?: string;
  run?: string;
  decision: Decision | 'healthy';
  problem?: Problem;
  /** pod/NAME, deployment/NAME... */
  object?: string;
  /** the workload the problem belongs to: deployment/NAME, statefulset/NAME, job/NAME or pod/NAME */
  workload?: string;
  step?: HealStep;
  reason: string;
  /** done, failed, planned (dry run): the action's outcome */
  status?: string;
  /** the escalation step number on this workload (1 = first action in the window) */
  level?: number;
  /** in a plan: the index of the decision's action (not stored) */
  action?: number;
}

export interface HealObserved {
  now: Date;
  namespace: string;
  release: string;
  pods: V1Pod[];
  deployments: V1Deployment[];
  statefulSets: V1StatefulSet[];
  jobs: V1Job[];
  /** undefined: not readable, references to that kind are not checked */
  configMaps?: KeysOnly[];
  secrets?: KeysOnly[];
  /** nodes whose Ready condition is not True */
  notReadyNodes: string[];
  /** the release's helm history, oldest first; empty when it is not installed */
  revisions: Revision[];
  /** the newest revision self-heal saw healthy */
  lastHealthyRevision?: number;
  /** self-heal's audit records, newest first (at least the window's) */
  history: AuditRecord[];
  /** the namespace's Services (to tell a drifted one that selects no Ready pod); undefined: not read */
  services?: V1Service[];
  /**
   * the release's live objects that differ from its newest revision (Kind/name
   * and the field; scripts/lib/release/drift.ts); undefined: not checked
   */
  drift?: { object: string; path: string }[];
}

interface Issue {
  problem: Problem;
  object: string;
  workload: string;
  /** the workload is one of the release's (label app.kubernetes.io/instance) */
  releaseOwned: boolean;
  detail: string;
  /** set when acting cannot help: why */
  cannotHelp?: string;
  /** pod creation time (ms), to tell whether the newest revision made it */
  createdMs?: number;
  /** its image cannot be pulled: a rollback or a re-apply of the release may fix that, nothing else */
  imagePull?: boolean;
}

export interface HealParams {
  step: HealStep;
  kind: string;
  name: string;
  namespace: string;
  revision?: number;
}

interface HealAlert {
  key: string;
  level: Level;
  title: string;
  text: string;
}

export interface HealPlan {
  issues: Issue[];
  decisions: AuditRecord[];
  actions: PlannedAction<HealParams>[];
  alerts: HealAlert[];
  /** every workload of the release is fine at this revision: remember it as healthy */
  healthyRevision?: number;
}

const nodeReasons = new Set([
  'NodeLost',
  'Evicted',
  'NodeShutdown',
  'Shutdown',
  'Terminated',
  'NodeAffinity',
  'OutOfcpu',
  'OutOfmemory',
]);

const key = (kind: string, name: string) => `${kind.toLowerCase()}/${name}`;
const ms = (t: string | Date | undefined) => (t ? new Date(t).getTime() : 0);
const releaseLabel = 'app.kubernetes.io/instance';

/** The workload a pod belongs to, through its controller reference (ReplicaSets to their Deployment). */
function workloadOf(
  p: V1Pod,
  o: HealObserved,
): { key: string; kind: string; name: string; controlled: boolean; releaseOwned: boolean } {
  const ref = p.metadata?.ownerReferences?.find((r) => r.controller) ?? p.metadata?.ownerReferences?.[0];
  const podKey = key('Pod', p.metadata?.name ?? '?');
  if (!ref) return { key: podKey, kind: 'Pod', name: p.metadata?.name ?? '?', controlled: false, releaseOwned: false };
  if (ref.kind === 'ReplicaSet') {
    const d = o.deployments.find(
      (x) =>
        ref.name.startsWith(`${x.metadata?.name}-`) && selects(x.spec?.selector?.matchLabels ?? {}, p.metadata?.labels),
    );
    if (d)
      return {
        key: key('Deployment', d.metadata!.name!),
        kind: 'Deployment',
        name: d.metadata!.name!,
        controlled: true,
        releaseOwned: d.metadata?.labels?.[releaseLabel] === o.release,
      };
  }
  if (ref.kind === 'StatefulSet') {
    const s = o.statefulSets.find((x) => x.metadata?.name === ref.name);
    return {
      key: key('StatefulSet', ref.name),
      kind: 'StatefulSet',
      name: ref.name,
      controlled: true,
      releaseOwned: s?.metadata?.labels?.[releaseLabel] === o.release,
    };
  }
  return { key: key(ref.kind, ref.name), kind: ref.kind, name: ref.name, controlled: true, releaseOwned: false };
}

/** What is wrong with one pod, or undefined when nothing is (or it is still starting). */
function podIssue(p: V1Pod, o: HealObserved, limits: HealLimits): Issue | undefined {
  const name = p.metadata?.name ?? '?';
  const w = workloadOf(p, o);
  const base = {
    object: key('Pod', name),
    workload: w.key,
    releaseOwned: w.releaseOwned,
    createdMs: ms(p.metadata?.creationTimestamp),
  };
  if (w.kind === 'Job') return undefined; // a Job's pods are judged through the Job
  const nodeDown = !!p.spec?.nodeName && o.notReadyNodes.includes(p.spec.nodeName);
  if (p.metadata?.deletionTimestamp) {
    const grace = (p.spec?.terminationGracePeriodSeconds ?? 30) + limits.terminatingSec;
    const over = (o.now.getTime() - ms(p.metadata.deletionTimestamp)) / 1000;
    if (over < grace) return undefined;
    return {
      ...base,
      problem: 'Terminating',
      detail: `${name}: Terminating for ${Math.round(over)}s${nodeDown ? ` on node ${p.spec!.nodeName}, which is not Ready` : ''}`,
    };
  }
  const pr = podProblem(p);
  if (!pr) return undefined;
  const ageSec = (o.now.getTime() - base.createdMs) / 1000;
  const missing = missingRefs(p, o.configMaps, o.secrets);
  let cannotHelp: string | undefined;
  const cls = reasonClass(pr.reason);
  if (missing.length || cls === 'config') {
    const m = missing[0];
    cannotHelp = m
      ? `refers to a missing ${describeRef(m)} (${m.via}): fix the configuration`
      : `${pr.reason}: ${pr.message ?? 'the container cannot be created'}`;
  } else if (cls === 'image')
    cannotHelp = `${pr.reason}: the image cannot be pulled${pr.message ? ` (${pr.message})` : ''}: fix the image or tag`;
  else if (nodeDown || nodeReasons.has(pr.reason))
    cannotHelp = `node-level: ${nodeDown ? `node ${p.spec!.nodeName} is not Ready` : pr.reason}${pr.message ? ` (${pr.message})` : ''}`;
  else if (cls === 'unschedulable') cannotHelp = `unschedulable: ${pr.message ?? 'no node fits'}`;
  else if (oomKilled(pr)) cannotHelp = 'OOMKilled: a restart cannot give it more memory; raise its memory limit';
  else if (!w.controlled) cannotHelp = 'a bare pod: nothing would replace it if deleted';
  const crash = cls === 'crash';
  if (!crash && !cannotHelp && ageSec < limits.graceSec) return undefined; // still starting
  const facts = [
    pr.container ? `container ${pr.container}` : '',
    pr.exitCode !== undefined ? `exit code ${pr.exitCode}` : '',
    pr.restarts ? `${pr.restarts} restarts` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return {
    ...base,
    problem: crash ? 'CrashLoopBackOff' : 'NotReady',
    detail: `${name}: ${pr.reason}${facts ? ` (${facts})` : ''}${!crash ? `, not Ready for ${Math.round(ageSec)}s` : ''}`,
    ...(cannotHelp ? { cannotHelp } : {}),
    ...(cls === 'image' ? { imagePull: true } : {}),
  };
}

/** Every problem self-heal looks for, one Issue each. */
function findIssues(o: HealObserved, limits: HealLimits): Issue[] {
  const issues: Issue[] = [];
  for (const p of o.pods) {
    const i = podIssue(p, o, limits);
    if (i) issues.push(i);
  }
  for (const j of o.jobs) {
    const failed = j.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
    if (!failed) continue;
    const name = j.metadata?.name ?? '?';
    const cron = j.metadata?.ownerReferences?.find((r) => r.kind === 'CronJob');
    issues.push({
      problem: 'JobFailed',
      object: key('Job', name),
      workload: key('Job', name),
      releaseOwned: j.metadata?.labels?.[releaseLabel] === o.release,
      detail: `job/${name} failed: ${failed.reason ?? 'Failed'}${failed.message ? `: ${failed.message}` : ''}`,
      cannotHelp: cron
        ? `its CronJob ${cron.name} runs it again on schedule`
        : 'a failed Job is kept for its logs; re-running it is a decision for a person',
    });
  }
  for (const d of o.deployments) {
    const prog = d.status?.conditions?.find((c) => c.type === 'Progressing');
    if (prog?.reason !== 'ProgressDeadlineExceeded') continue;
    const name = d.metadata?.name ?? '?';
    issues.push({
      problem: 'RolloutStuck',
      object: key('Deployment', name),
      workload: key('Deployment', name),
      releaseOwned: d.metadata?.labels?.[releaseLabel] === o.release,
      detail: `deployment/${name}: progress deadline exceeded`,
    });
  }
  // A Service of the release that drifted and now selects no Ready pod.
  const drifted = driftedObjects(o);
  for (const svc of o.services ?? []) {
    const name = svc.metadata?.name ?? '?';
    const sel = svc.spec?.selector;
    if (!sel || !Object.keys(sel).length || !drifted.has(key('Service', name))) continue;
    const serving = o.pods.some(
      (p) =>
        !p.metadata?.deletionTimestamp &&
        selects(sel, p.metadata?.labels) &&
        (svc.spec?.publishNotReadyAddresses ||
          (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')),
    );
    if (!serving)
      issues.push({
        problem: 'NoEndpoints',
        object: key('Service', name),
        workload: key('Service', name),
        releaseOwned: true,
        detail: `service/${name}: selects no Ready pod (${Object.entries(sel)
          .map(([k, v]) => `${k}=${v}`)
          .join(',')})`,
      });
  }
  return issues;
}

/** The release's drifted objects as kind/name keys (lower-case kind, like workloads). */
function driftedObjects(o: Pick<HealObserved, 'drift'>): Set<string> {
  return new Set((o.drift ?? []).map((d) => key(d.object.split('/')[0]!, d.object.slice(d.object.indexOf('/') + 1))));
}

/**
 * Whether the release's live objects are worth comparing with its newest
 * revision (a read and a dry-run apply per object): only when one of its pods
 * fails or one of its Services selects no Ready pod, so a healthy namespace
 * costs nothing more. Pure.
 */
export function needsDriftCheck(o: HealObserved, limits: HealLimits): boolean {
  if (!o.revisions.length) return false;
  if (findIssues(o, limits).some((i) => i.releaseOwned && i.problem !== 'JobFailed')) return true;
  return (o.services ?? []).some((svc) => {
    const sel = svc.spec?.selector;
    if (svc.metadata?.labels?.[releaseLabel] !== o.release || !sel || !Object.keys(sel).length) return false;
    return !o.pods.some(
      (p) =>
        !p.metadata?.deletionTimestamp &&
        selects(sel, p.metadata?.labels) &&
        (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    );
  });
}

/**
 * The rollback target when the newest revision caused the failure: the newest
 * revision was never seen healthy, an older one was (or helm's previous
 * deployed one), and the failing pods were made after the newest revision.
 */
function blameRevision(
  o: HealObserved,
  issues: readonly Issue[],
): { from: number; to: number; why: string } | undefined {
  const newest = o.revisions.at(-1);
  if (!newest || newest.status !== 'deployed') return undefined;
  if (o.lastHealthyRevision !== undefined && o.lastHealthyRevision >= newest.revision) return undefined;
  const since = ms(newest.updated) - 5000; // helm's clock stamp vs the pods': a few seconds either way
  const pods = issues.filter((i) => i.releaseOwned && i.object.startsWith('pod/') && (!i.cannotHelp || i.imagePull));
  if (!pods.length || !pods.every((i) => (i.createdMs ?? 0) >= since)) return undefined;
  const healthy =
    o.lastHealthyRevision !== undefined ? o.revisions.find((r) => r.revision === o.lastHealthyRevision) : undefined;
  const previous =
    healthy ?? [...o.revisions].reverse().find((r) => r.revision < newest.revision && r.status === 'superseded');
  if (!previous) return undefined;
  return {
    from: newest.revision,
    to: previous.revision,
    why: healthy
      ? `revision ${newest.revision} was never healthy and its pods fail; revision ${previous.revision} was healthy`
      : `revision ${newest.revision} was never seen healthy and its pods fail; revision ${previous.revision} is helm's previous deployed revision`,
  };
}

const podOf = (i: Issue) => i.object.slice('pod/'.length);

export function planHeal(o: HealObserved, limits: HealLimits): HealPlan {
  const now = o.now.getTime();
  const issues = findIssues(o, limits).sort(
    (a, b) => a.workload.localeCompare(b.workload) || a.object.localeCompare(b.object),
  );
  const windowStart = now - limits.windowSec * 1000;
  const recent = o.history.filter((r) => ms(r.at) >= windowStart);
  const acted = recent.filter((r) => r.decision === 'act' && r.status === 'done');
  let budget = Math.max(0, limits.maxActions - acted.length);
  const decisions: AuditRecord[] = [];
  const actions: PlannedAction<HealParams>[] = [];
  const alerts: HealAlert[] = [];
  const starved: Issue[] = [];
  const plan = (
    i: Issue,
    step: HealStep,
    level: number,
    reason: string,
    params: HealParams,
    target: string,
    what: string,
  ) => {
    decisions.push({
      decision: 'act',
      problem: i.problem,
      object: i.object,
      workload: i.workload,
      step,
      level,
      reason,
      action: actions.length,
    });
    actions.push({ what, target, reason: `${i.detail}: ${reason}`, destructive: true, unattended: true, params });
    budget--;
  };

  // Drift into failure: the release's live objects were changed (an image set by hand) and its pods
  // fail, or a drifted Service selects no Ready pod. Re-applying the newest revision puts them back.
  const drifted = driftedObjects(o);
  const latest = o.revisions.at(-1);
  const driftIssues = latest
    ? issues.filter((i) => i.releaseOwned && i.problem !== 'JobFailed' && drifted.has(i.workload))
    : [];
  const covered = new Set<Issue>(driftIssues);
  if (driftIssues.length) {
    const target = `release/${o.release}`;
    const first = driftIssues[0]!;
    const mine = acted.filter((r) => r.step === 'reapply');
    const last = Math.max(0, ...mine.map((r) => ms(r.at)));
    const what = [...new Set(driftIssues.map((i) => i.workload))].join(', ');
    for (const i of driftIssues.slice(1))
      decisions.push({
        decision: 'report',
        problem: i.problem,
        object: i.object,
        workload: i.workload,
        reason: `covered by the re-apply of ${target}`,
      });
    if (mine.length >= limits.maxPerWorkload) {
      decisions.push({
        decision: 'gave-up',
        problem: first.problem,
        object: first.object,
        workload: first.workload,
        reason: `${mine.length} re-apply(s) of ${target} within ${limits.windowSec}s did not help`,
      });
      alerts.push({
        key: `gave-up:${target}:drift`,
        level: 'fail',
        title: `self-heal gave up on ${target}: re-applying it did not stop the drift of ${what}`,
        text: first.detail,
      });
    } else if (last && now - last < limits.cooldownSec * 1000) {
      decisions.push({
        decision: 'cooldown',
        problem: first.problem,
        object: first.object,
        workload: first.workload,
        reason: `re-applied ${target} ${Math.round((now - last) / 1000)}s ago; waiting ${Math.ceil((limits.cooldownSec * 1000 - (now - last)) / 1000)}s more to see whether it helped`,
      });
    } else if (budget <= 0) starved.push(first);
    else {
      const fields = (o.drift ?? [])
        .filter((d) =>
          driftIssues.some(
            (i) => i.workload === key(d.object.split('/')[0]!, d.object.slice(d.object.indexOf('/') + 1)),
          ),
        )
        .map((d) => `${d.object} ${d.path}`);
      plan(
        first,
        'reapply',
        mine.length + 1,
        `its live objects drifted from revision ${latest!.revision} (${fields.slice(0, 3).join('; ')}${fields.length > 3 ? '; ...' : ''}): re-apply revision ${latest!.revision}`,
        { step: 'reapply', kind: 'Release', name: o.release, namespace: o.namespace, revision: latest!.revision },
        target,
        'helm re-apply',
      );
    }
  }

  // Problems acting cannot fix: reported and alerted once per workload and cause.
  // (An image that cannot be pulled in the newest revision is the rollback's, below.)
  const blameable = blameRevision(
    o,
    issues.filter((x) => !covered.has(x) && (!x.cannotHelp || x.imagePull)),
  );
  for (const i of issues.filter(
    (x) => x.cannotHelp && !covered.has(x) && !(blameable && x.imagePull && x.releaseOwned),
  )) {
    decisions.push({
      decision: i.problem === 'JobFailed' ? 'report' : 'cannot-help',
      problem: i.problem,
      object: i.object,
      workload: i.workload,
      reason: i.cannotHelp!,
    });
    if (!alerts.some((a) => a.key === `cannot-help:${i.workload}:${i.cannotHelp}`))
      alerts.push({
        key: `cannot-help:${i.workload}:${i.cannotHelp}`,
        level: 'fail',
        title: `self-heal will not act on ${i.workload}: ${i.cannotHelp}`,
        text: i.detail,
      });
  }
  const actionable = issues.filter(
    (x) => !covered.has(x) && (!x.cannotHelp || (blameable && x.imagePull && x.releaseOwned)),
  );

  // A bad newest revision: rolling back is the fix; deleting its pods would only recreate them.
  const blame = blameable;
  if (blame) {
    const target = `release/${o.release}`;
    const rolledBack = acted.some((r) => r.step === 'rollback');
    const released = actionable.filter((i) => i.releaseOwned);
    for (const i of released.slice(1))
      decisions.push({
        decision: 'report',
        problem: i.problem,
        object: i.object,
        workload: i.workload,
        reason: `covered by the rollback of ${target}`,
      });
    const first = released[0]!;
    if (rolledBack) {
      decisions.push({
        decision: 'gave-up',
        problem: first.problem,
        object: first.object,
        workload: target,
        reason: `already rolled back within ${limits.windowSec}s and the release still fails`,
      });
      alerts.push({
        key: `gave-up:${target}`,
        level: 'fail',
        title: `self-heal gave up on ${target}: a rollback did not help`,
        text: first.detail,
      });
    } else if (budget <= 0) {
      starved.push(first);
    } else {
      plan(
        first,
        'rollback',
        1,
        `helm rollback to revision ${blame.to}: ${blame.why}`,
        { step: 'rollback', kind: 'Release', name: o.release, namespace: o.namespace, revision: blame.to },
        target,
        'helm rollback',
      );
    }
  }

  const byWorkload = new Map<string, Issue[]>();
  for (const i of actionable)
    if (!(blame && i.releaseOwned)) byWorkload.set(i.workload, [...(byWorkload.get(i.workload) ?? []), i]);
  for (const [workload, list] of byWorkload) {
    const mine = acted.filter((r) => r.workload === workload);
    // A step is one run's actions on the workload: escalation counts runs, not pods.
    const steps = new Set(mine.map((r) => r.run ?? r.at)).size;
    const last = Math.max(0, ...mine.map((r) => ms(r.at)));
    const kind = workload.split('/')[0]!;
    const name = workload.slice(kind.length + 1);
    const first = list[0]!;
    const restartable = kind === 'deployment' || kind === 'statefulset';
    if (steps >= limits.maxPerWorkload) {
      for (const i of list)
        decisions.push({
          decision: 'gave-up',
          problem: i.problem,
          object: i.object,
          workload,
          reason: `${steps} remediation step(s) within ${limits.windowSec}s did not help`,
        });
      alerts.push({
        key: `gave-up:${workload}`,
        level: 'fail',
        title: `self-heal gave up on ${workload}: ${steps} step(s) did not help`,
        text: list
          .map((i) => i.detail)
          .slice(0, 5)
          .join('\n'),
      });
      continue;
    }
    if (last && now - last < limits.cooldownSec * 1000) {
      const left = Math.ceil((limits.cooldownSec * 1000 - (now - last)) / 1000);
      for (const i of list)
        decisions.push({
          decision: 'cooldown',
          problem: i.problem,
          object: i.object,
          workload,
          reason: `acted on ${workload} ${Math.round((now - last) / 1000)}s ago; waiting ${left}s more to see whether it helped`,
        });
      continue;
    }
    const pods = list.filter((i) => i.object.startsWith('pod/'));
    const stuck = list.find((i) => i.problem === 'RolloutStuck');
    // The ladder: delete the failing pods first; if that did not help (or the rollout itself is stuck), restart the rollout.
    if (restartable && (steps > 0 || stuck)) {
      if (budget <= 0) starved.push(first);
      else
        plan(
          stuck ?? first,
          'restart',
          steps + 1,
          steps
            ? `deleting its pods ${steps === 1 ? 'did' : 'and restarting did'} not help: rollout restart`
            : 'rollout restart: the rollout is stuck',
          { step: 'restart', kind: kind === 'deployment' ? 'Deployment' : 'StatefulSet', name, namespace: o.namespace },
          workload,
          'rollout restart',
        );
      continue;
    }
    for (const i of pods) {
      if (budget <= 0) {
        starved.push(i);
        continue;
      }
      const force = i.problem === 'Terminating';
      plan(
        i,
        force ? 'force-delete-pod' : 'delete-pod',
        steps + 1,
        force
          ? 'force delete (grace period 0): its kubelet does not finish it'
          : 'delete the pod: its controller makes a new one',
        { step: force ? 'force-delete-pod' : 'delete-pod', kind: 'Pod', name: podOf(i), namespace: o.namespace },
        `pod/${podOf(i)}`,
        force ? 'force delete pod' : 'delete pod',
      );
    }
  }
  if (starved.length) {
    for (const i of starved)
      decisions.push({
        decision: 'budget',
        problem: i.problem,
        object: i.object,
        workload: i.workload,
        reason: `the action budget (${limits.maxActions} per ${limits.windowSec}s) is spent`,
      });
    alerts.push({
      key: 'budget',
      level: 'fail',
      title: `self-heal stopped: ${starved.length} problem(s) left untreated, the budget of ${limits.maxActions} actions per ${limits.windowSec}s is spent`,
      text: starved
        .slice(0, 5)
        .map((i) => i.detail)
        .join('\n'),
    });
  }
  // The release is healthy at its newest revision: a known-good target for a later rollback.
  const newest = o.revisions.at(-1);
  const releaseWorkloads = [...o.deployments, ...o.statefulSets].filter(
    (w) => w.metadata?.labels?.[releaseLabel] === o.release,
  );
  const allReady = releaseWorkloads.every(
    (w) =>
      (w.status?.readyReplicas ?? 0) >= (w.spec?.replicas ?? 1) &&
      (w.status?.updatedReplicas ?? 0) >= (w.spec?.replicas ?? 1),
  );
  const healthyRevision =
    newest?.status === 'deployed' && releaseWorkloads.length && allReady && !issues.some((i) => i.releaseOwned)
      ? newest.revision
      : undefined;
  if (!issues.length)
    decisions.push({
      decision: 'healthy',
      reason: `no problems: ${o.pods.length} pods, ${o.deployments.length + o.statefulSets.length} workloads checked`,
    });
  return { issues, decisions, actions, alerts, ...(healthyRevision !== undefined ? { healthyRevision } : {}) };
}
