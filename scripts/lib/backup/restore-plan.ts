// What a restore does, from what it found in the target: pure, tested on plain data.
import { usageError } from '../kit/errors.ts';
import type { PlannedAction } from '../kit/plan.ts';

export interface RestoreObserved {
  source: string;
  target: string;
  release: string;
  namespaceExists: boolean;
  /** "Kind/name" of the archive's objects that already exist in the target */
  existing: string[];
  /** objects the restore applies */
  objects: number;
  /** the target's database, when its PostgreSQL pod is already running */
  db?: { rows: number; tables: number };
  hasDump: boolean;
  deployments: Record<string, number>;
  verify: boolean;
  force: boolean;
  /** --data-only: the database alone, into the release as deployed (its objects, the PostgreSQL image among them, kept) */
  dataOnly?: boolean;
}

export type RestoreStep =
  | { kind: 'namespace' }
  | { kind: 'objects' }
  | { kind: 'stop'; deployments: string[] }
  | { kind: 'database' }
  | { kind: 'start'; replicas: Record<string, number> }
  | { kind: 'cleanup' };

/**
 * The restore's actions. Refuses (usage error, nothing changed) to load over a
 * database that holds rows unless forced. The Deployments are applied at 0
 * replicas and started after the load, so the app never writes to a half-loaded
 * database; a verify never starts them and deletes its scratch namespace.
 * --data-only applies nothing: it stops the release's Deployments as deployed,
 * loads the dump into its running PostgreSQL and starts them again (a backup
 * of an older major, into the release that now runs the new one).
 */
export function planRestore(o: RestoreObserved): PlannedAction<RestoreStep>[] {
  if (o.hasDump && o.db && o.db.rows > 0 && !o.force)
    throw usageError(
      `the database of ${o.release} in ${o.target} holds ${o.db.rows} rows in ${o.db.tables} tables: refusing to overwrite it`,
      "add --force to replace its contents with the archive's, or restore into another namespace with --to-namespace",
    );
  const out: PlannedAction<RestoreStep>[] = [];
  if (o.dataOnly) {
    if (!o.hasDump) throw usageError('the archive has no database dump: --data-only has nothing to load');
    if (!o.namespaceExists || !o.db)
      throw usageError(
        `--data-only loads into the release's running PostgreSQL, and ${o.release} in ${o.target} has none`,
        'deploy the release first: npx zx scripts/deploy.ts',
      );
    // The app's own Deployments (as deployed, not the archive's) stop while the tables are replaced.
    out.push({
      what: 'stop app',
      target: Object.keys(o.deployments).join(', ') || 'no Deployment',
      reason: 'no app pod may hold a connection while the tables are replaced',
      params: { kind: 'stop', deployments: Object.keys(o.deployments) },
    });
  } else {
    if (!o.namespaceExists)
      out.push({
        what: 'create namespace',
        target: o.target,
        reason: o.verify ? 'scratch namespace for the verification' : 'not there',
        params: { kind: 'namespace' },
      });
    out.push({
      what: 'apply objects',
      target: `${o.objects} objects in ${o.target}`,
      reason: o.existing.length
        ? `replaces ${o.existing.length} existing (${o.existing.slice(0, 5).join(', ')}${o.existing.length > 5 ? ', …' : ''})`
        : "restore the archive's objects (Deployments held at 0 replicas until the data is in)",
      ...(o.existing.length ? { destructive: true } : {}),
      params: { kind: 'objects' },
    });
  }
  if (o.hasDump)
    out.push({
      what: 'load database',
      target: `${o.release} in ${o.target}`,
      reason: o.db && o.db.rows > 0 ? `--force: replaces ${o.db.rows} rows` : 'pg_restore in one transaction',
      ...(o.db && o.db.rows > 0 ? { destructive: true } : {}),
      params: { kind: 'database' },
    });
  if (o.verify)
    out.push({
      what: 'delete namespace',
      target: o.target,
      reason: "the verification's scratch namespace",
      params: { kind: 'cleanup' },
    });
  else if (Object.keys(o.deployments).length)
    out.push({
      what: 'start app',
      target: Object.entries(o.deployments)
        .map(([n, r]) => `${n}=${r}`)
        .join(', '),
      reason: "the archive's replicas, once the data is in",
      params: { kind: 'start', replicas: o.deployments },
    });
  return out;
}

/** Differences between what the manifest promises and what the restore produced: empty when they agree. */
export function compareCounts(expected: Record<string, number>, got: Record<string, number>, what: string): string[] {
  const keys = [...new Set([...Object.keys(expected), ...Object.keys(got)])].sort();
  return keys
    .filter((k) => (expected[k] ?? 0) !== (got[k] ?? 0))
    .map((k) => `${what} ${k}: ${got[k] ?? 0}, the manifest says ${expected[k] ?? 0}`);
}
