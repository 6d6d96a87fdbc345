// scale's decisions (pure). The replica values live in the release's values
// (replicaCount, or autoscaling.minReplicas/maxReplicas when an HPA owns the
// Deployment), changed through helm, and are listed under global.todoOpsScaled
// so that the next deploy keeps them instead of reverting to the profile's.
import { usageError } from '../lib/kit/errors.ts';
import type { PlannedAction } from '../lib/kit/plan.ts';
import { getPath, setPath, type Values } from '../lib/release/values.ts';
import { scaledMarker } from '../lib/release/scale-marker.ts';

const components = ['frontend', 'backend'] as const;
export type Component = (typeof components)[number];

export interface ScaleObserved {
  /** the Deployment's current spec.replicas and ready count */
  replicas: number;
  ready: number;
  hpa?: { minReplicas: number; maxReplicas: number };
  pdb?: { minAvailable?: number | string; maxUnavailable?: number | string };
  /** the deployed revision's user values */
  values: Values;
}

export interface ScaleParams {
  values: Values;
  changes: Record<string, number>;
  hpa: boolean;
  target: { min: number; max: number };
}

export interface ScalePlan {
  actions: PlannedAction<ScaleParams>[];
  before: Record<string, number>;
  after: Record<string, number>;
  notes: string[];
}

/** "scale backend -1": node's parser would read "-1" as a flag; moved after "--" so it is a positional. */
export function negativeNumbersAsPositionals(argv: string[]): string[] {
  if (argv.includes('--')) return argv;
  const neg = argv.filter((a) => /^-\d+$/.test(a));
  return neg.length ? [...argv.filter((a) => !/^-\d+$/.test(a)), '--', ...neg] : argv;
}

/** Checks the positionals; every problem is a one-line usage error (exit 2). */
export function parseScaleArgs(positionals: string[], max: number): { component: Component; replicas: number } {
  if (positionals.length !== 2)
    throw usageError(
      `expected: frontend|backend N, got ${positionals.length ? `"${positionals.join(' ')}"` : 'nothing'}`,
    );
  const [c, n] = positionals as [string, string];
  if (!(components as readonly string[]).includes(c))
    throw usageError(
      `cannot scale "${c}": only frontend and backend scale (PostgreSQL is a single-replica StatefulSet)`,
    );
  if (!/^-?\d+$/.test(n)) throw usageError(`replicas must be a whole number, got "${n}"`);
  const replicas = Number(n);
  if (replicas < 0 || replicas > max)
    throw usageError(`replicas must be between 0 and ${max} (TODO_SCALE_MAX), got ${replicas}`);
  return { component: c as Component, replicas };
}

/** The PodDisruptionBudget's floor for N replicas: minAvailable as a count. */
export function pdbFloor(pdb: ScaleObserved['pdb'], replicas: number): number | undefined {
  const m = pdb?.minAvailable;
  if (m === undefined || m === null) return undefined;
  if (typeof m === 'number') return m;
  const pct = /^(\d+)%$/.exec(m);
  if (pct) return Math.ceil((Number(pct[1]) / 100) * replicas) || (Number(pct[1]) > 0 && replicas === 0 ? 1 : 0);
  return /^\d+$/.test(m) ? Number(m) : undefined;
}

export function planScale(
  o: ScaleObserved,
  c: Component,
  n: number,
  opts: { force: boolean; max?: number; deployment: string },
): ScalePlan {
  const notes: string[] = [];
  const floor = pdbFloor(o.pdb, n);
  if (floor !== undefined && n < floor && !opts.force)
    throw usageError(
      `refusing to scale ${c} to ${n}: its PodDisruptionBudget requires minAvailable ${o.pdb!.minAvailable}`,
      'add --force to go below it (voluntary disruptions will then be blocked)',
    );
  if (floor !== undefined && n < floor)
    notes.push(`below the PodDisruptionBudget's minAvailable ${o.pdb!.minAvailable} (--force)`);
  const changes: Record<string, number> = {};
  let before: Record<string, number>;
  let after: Record<string, number>;
  let target: { min: number; max: number };
  if (o.hpa) {
    if (n === 0)
      throw usageError(
        `cannot scale ${c} to 0: it is autoscaled (an HPA's minReplicas is at least 1)`,
        `set ${c}.autoscaling.enabled=false in the values, deploy, then scale to 0`,
      );
    const max = opts.max ?? Math.max(n, o.hpa.maxReplicas);
    if (max < n) throw usageError(`--max ${max} is below ${n}`);
    changes[`${c}.autoscaling.minReplicas`] = n;
    changes[`${c}.autoscaling.maxReplicas`] = max;
    before = { minReplicas: o.hpa.minReplicas, maxReplicas: o.hpa.maxReplicas, replicas: o.replicas };
    after = { minReplicas: n, maxReplicas: max };
    target = { min: n, max };
    notes.push(
      `${c} is autoscaled: its HorizontalPodAutoscaler's minReplicas/maxReplicas are set (${o.hpa.minReplicas}/${o.hpa.maxReplicas} -> ${n}/${max}), not the Deployment's replicas`,
    );
  } else {
    changes[`${c}.replicaCount`] = n;
    before = { replicas: o.replicas };
    after = { replicas: n };
    target = { min: n, max: n };
  }
  const unchanged =
    Object.entries(changes).every(([k, v]) => getPath(o.values, k) === v) &&
    (o.hpa ? o.replicas >= n && o.replicas <= target.max : o.replicas === n);
  if (unchanged) return { actions: [], before, after, notes: [...notes, `${c} is already at ${n}`] };
  let values = o.values;
  for (const [k, v] of Object.entries(changes)) values = setPath(values, k, v);
  const owned = new Set([...((getPath(values, scaledMarker) as string[] | undefined) ?? []), ...Object.keys(changes)]);
  values = setPath(values, scaledMarker, [...owned].sort());
  const what = Object.entries(changes)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return {
    actions: [
      {
        what: o.hpa ? 'set autoscaling' : 'scale',
        target: `deployment/${opts.deployment}`,
        reason: `${what} in the release values (kept by the next deploy)`,
        destructive: n === 0,
        params: { values, changes, hpa: !!o.hpa, target },
      },
    ],
    before,
    after,
    notes,
  };
}
