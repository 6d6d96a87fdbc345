// alert's rules (pure): the namespace's findings (scripts/lib/diagnose/diagnose.ts), the workloads'
// replica counts, restart samples, the app's /readyz answer, the backup
// history and the forecasts in; the conditions that hold now out, one per rule
// and workload. Whether a condition fires (its `for`), repeats or resolves is
// state.ts's business.
import type { V1Deployment, V1Pod, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import type { Finding, Level } from '../../scripts/lib/kit/result.ts';

export const ruleNames = [
  'crash-loop',
  'replicas-mismatch',
  'pods-not-ready',
  'restarts-rising',
  'readyz',
  'backup-stale',
  'forecast',
  'service-endpoints',
  'release-drift',
] as const;
export type RuleName = (typeof ruleNames)[number];

export interface Condition {
  rule: RuleName;
  /** rule:object: one alert per rule and workload */
  key: string;
  object: string;
  level: Exclude<Level, 'ok' | 'info'>;
  summary: string;
  detail: string;
}

/** What the `backup` stream holds (written by ops/backup.ts). */
export interface BackupRecord {
  at: string;
  ok: boolean;
  verified: boolean | null;
  archive: string;
  bytes: number;
  durationMs: number;
}

/** What the `forecasts` document holds (written by ops/predict.ts). */
export interface ForecastsDoc {
  at: string;
  forecasts: {
    key: string;
    kind: 'memory' | 'volume' | 'restarts';
    object: { kind: string; name: string; namespace: string; container?: string };
    etaSeconds: number | null;
    r2: number;
    samples: number;
    spanSeconds: number;
    level: 'ok' | 'warn' | 'fail';
    detail: string;
  }[];
}

/** Restart totals per workload, oldest first, within the restarts window. */
export type RestartSamples = Record<string, { at: string; restarts: number }[]>;

export interface RuleInput {
  now: Date;
  namespace: string;
  /** diagnose()'s findings for the namespace */
  findings: Finding[];
  pods: V1Pod[];
  deployments: V1Deployment[];
  statefulSets: V1StatefulSet[];
  /** the backend's /readyz probe finding; undefined: no backend Service in the namespace */
  readyz?: Finding;
  /** the backup stream's records, newest first; undefined: no stream */
  backups?: BackupRecord[];
  forecasts?: ForecastsDoc;
  restartSamples: RestartSamples;
  /** the namespace's Services; undefined: not read */
  services?: V1Service[];
  /** the release's live objects that differ from its latest revision; undefined: not checked (not installed) */
  drift?: { object: string; path: string; live: string; desired: string; secret?: boolean }[];
  /** the release, for the drift rule's words */
  release?: string;
}

export interface RuleSettings {
  rules: readonly RuleName[];
  restartsThreshold: number;
  restartsWindowSec: number;
  backupMaxAgeSec: number;
}

export interface RulesOutcome {
  conditions: Condition[];
  /** rules that could not be evaluated, and why (their input is absent) */
  inactive: { rule: RuleName; why: string }[];
  restartSamples: RestartSamples;
}

const ms = (t: string | Date | undefined) => (t ? new Date(t).getTime() : 0);

/** deployment/NAME for a pod of a Deployment (through its ReplicaSet), statefulset/NAME, else pod/NAME. */
function workloadOfPod(p: Pick<V1Pod, 'metadata'>, deployments: readonly V1Deployment[]): string {
  const ref = p.metadata?.ownerReferences?.find((r) => r.controller) ?? p.metadata?.ownerReferences?.[0];
  if (!ref) return `pod/${p.metadata?.name}`;
  if (ref.kind === 'ReplicaSet') {
    const d = deployments.find((x) => ref.name.startsWith(`${x.metadata?.name}-`));
    if (d) return `deployment/${d.metadata!.name}`;
  }
  return `${ref.kind.toLowerCase()}/${ref.name}`;
}

const humanAge = (sec: number) =>
  sec >= 86400
    ? `${(sec / 86400).toFixed(1)}d`
    : sec >= 3600
      ? `${(sec / 3600).toFixed(1)}h`
      : `${Math.round(sec / 60)}m`;

export function evaluateRules(i: RuleInput, s: RuleSettings): RulesOutcome {
  const on = new Set(s.rules);
  const conditions: Condition[] = [];
  const inactive: RulesOutcome['inactive'] = [];
  const add = (rule: RuleName, object: string, level: Condition['level'], summary: string, detail: string) => {
    const key = `${rule}:${object}`;
    const same = conditions.find((c) => c.key === key);
    if (same) same.detail = `${same.detail}\n${detail}`;
    else conditions.push({ rule, key, object, level, summary, detail });
  };
  const podWorkload = (name: string | undefined) => {
    const p = i.pods.find((x) => x.metadata?.name === name);
    return p ? workloadOfPod(p, i.deployments) : `pod/${name}`;
  };

  for (const f of i.findings) {
    if (f.level !== 'fail' || f.object?.kind !== 'Pod') continue;
    const w = podWorkload(f.object.name);
    if (f.name === 'crash loop' || f.name === 'OOMKilled') {
      if (on.has('crash-loop')) add('crash-loop', w, 'fail', `${w} is crash-looping`, f.detail);
    } else if (on.has('pods-not-ready') && f.name !== 'pod failed')
      add('pods-not-ready', w, 'fail', `${w} has pods that are not Ready (${f.name})`, f.detail);
  }

  if (on.has('replicas-mismatch'))
    for (const [kind, list] of [
      ['deployment', i.deployments],
      ['statefulset', i.statefulSets],
    ] as const)
      for (const d of list) {
        const want = d.spec?.replicas ?? 1;
        const have = d.status?.readyReplicas ?? 0;
        if (have < want)
          add(
            'replicas-mismatch',
            `${kind}/${d.metadata?.name}`,
            have === 0 ? 'fail' : 'warn',
            `${kind}/${d.metadata?.name}: ${have}/${want} replicas ready`,
            `${have} of ${want} desired replicas are Ready`,
          );
      }

  // Restarts: the total per workload now, against the oldest sample inside the window.
  const now = i.now.getTime();
  const samples: RestartSamples = {};
  const totals = new Map<string, number>();
  for (const p of i.pods) {
    const w = workloadOfPod(p, i.deployments);
    const n = (p.status?.containerStatuses ?? []).reduce((a, c) => a + (c.restartCount ?? 0), 0);
    totals.set(w, (totals.get(w) ?? 0) + n);
  }
  for (const [w, total] of totals) {
    const kept = (i.restartSamples[w] ?? []).filter((x) => now - ms(x.at) <= s.restartsWindowSec * 1000);
    samples[w] = [...kept, { at: i.now.toISOString(), restarts: total }];
    // Pods replaced (restarts reset to 0) lower the total: count only the rises between samples.
    const series = samples[w]!;
    let rise = 0;
    for (let k = 1; k < series.length; k++) rise += Math.max(0, series[k]!.restarts - series[k - 1]!.restarts);
    if (on.has('restarts-rising') && rise >= s.restartsThreshold && series.length > 1)
      add(
        'restarts-rising',
        w,
        'warn',
        `${w}: ${rise} restarts in the last ${humanAge((now - ms(series[0]!.at)) / 1000)}`,
        `restarts rose by ${rise} (threshold ${s.restartsThreshold} per ${humanAge(s.restartsWindowSec)})`,
      );
  }

  if (on.has('readyz')) {
    if (!i.readyz) inactive.push({ rule: 'readyz', why: 'no backend Service in the namespace' });
    else if (i.readyz.level === 'fail')
      add('readyz', `service/${i.readyz.object?.name ?? 'backend'}`, 'fail', `backend /readyz fails`, i.readyz.detail);
  }

  if (on.has('backup-stale')) {
    const good = i.backups?.find((b) => b.ok && b.verified !== false);
    if (!i.backups?.length)
      inactive.push({ rule: 'backup-stale', why: 'no backup history (ops/backup.ts has not run in this namespace)' });
    else {
      const age = good ? (now - ms(good.at)) / 1000 : Infinity;
      if (age > s.backupMaxAgeSec)
        add(
          'backup-stale',
          'backup',
          'fail',
          good
            ? `the last good backup is ${humanAge(age)} old (more than ${humanAge(s.backupMaxAgeSec)})`
            : 'no good backup: every recorded backup failed or did not verify',
          good
            ? `last good backup ${good.archive} at ${good.at}`
            : `${i.backups.length} backup(s) recorded, none ok and verified`,
        );
    }
  }

  if (on.has('forecast')) {
    if (!i.forecasts)
      inactive.push({ rule: 'forecast', why: 'no forecasts (ops/predict.ts has not run in this namespace)' });
    else
      for (const f of i.forecasts.forecasts)
        if (f.level === 'warn' || f.level === 'fail')
          add(
            'forecast',
            f.key,
            f.level,
            `forecast: ${f.detail}`,
            `${f.kind} of ${f.object.kind.toLowerCase()}/${f.object.name}${f.etaSeconds !== null ? `: in ${humanAge(f.etaSeconds)}` : ''} (r² ${f.r2.toFixed(2)}, ${f.samples} samples)`,
          );
  }

  // A Service whose selector matches no Ready pod answers nobody, whatever its pods' own alerts say.
  if (on.has('service-endpoints'))
    for (const svc of i.services ?? []) {
      const sel = svc.spec?.selector;
      if (!sel || !Object.keys(sel).length || svc.spec?.type === 'ExternalName') continue;
      const matching = i.pods.filter(
        (p) => !p.metadata?.deletionTimestamp && Object.entries(sel).every(([k, v]) => p.metadata?.labels?.[k] === v),
      );
      const ready = matching.filter(
        (p) =>
          svc.spec?.publishNotReadyAddresses ||
          (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      if (ready.length) continue;
      const name = `service/${svc.metadata?.name}`;
      const selector = Object.entries(sel)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      add(
        'service-endpoints',
        name,
        'fail',
        `${name} has no endpoints: no Ready pod matches its selector`,
        `selector ${selector} matches ${matching.length ? `${matching.length} pod(s), none Ready` : 'no pod'}`,
      );
    }

  if (on.has('release-drift')) {
    if (!i.drift)
      inactive.push({ rule: 'release-drift', why: `release ${i.release ?? ''} has no deployed revision here` });
    else
      for (const d of i.drift) {
        const [kind, ...rest] = d.object.split('/');
        const object = `${kind!.toLowerCase()}/${rest.join('/')}`;
        add(
          'release-drift',
          object,
          'warn',
          `release ${i.release ?? ''} drifted: ${object} differs from its latest revision`,
          d.secret
            ? `${d.path || '(object)'}: value differs`
            : d.path
              ? `${d.path}: live ${d.live}, desired ${d.desired}`
              : 'deleted from the cluster',
        );
      }
  }

  return { conditions, inactive, restartSamples: samples };
}
