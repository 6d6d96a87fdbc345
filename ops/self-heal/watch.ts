// self-heal --watch: the heal cycle (run.ts) run again within a moment of any
// change to the namespace's pods, deployments or jobs (watches, not polling).
// Two things only a long-running mode needs: the API server lost is said
// within seconds and waited out up to TODO_WATCH_UNREACHABLE (then exit 3),
// and a storm that keeps the rounds coming logs what changed, not every round.
import type { Stored } from '../../scripts/lib/kit/state.ts';
import { Exit, OpsError } from '../../scripts/lib/kit/errors.ts';
import { guardReachability, outageError, reachableLine, unreachableLine } from '../../scripts/lib/kube/reachability.ts';
import type { SelfHealContext } from './spec.ts';

/** What the dedupe reads of an audit record (ops/self-heal/plan.ts's AuditRecord, as appended). */
interface AuditLike {
  run?: string;
  decision: string;
  problem?: string;
  object?: string;
  workload?: string;
  step?: string;
}

/** The record written when a finding logged earlier is no longer seen. */
interface Cleared {
  run?: string;
  decision: 'cleared';
  problem?: string;
  object?: string;
  workload?: string;
  reason: string;
}

/**
 * The audit of rounds that follow each other within seconds, reduced to its
 * changes: an action always (it is the budget's ledger), a finding when it
 * appears or its decision changes (not when only its wording does: a
 * cooldown's countdown), and a "cleared" record when it is gone. Pure: one
 * round's records in, the ones to write out.
 */
export class AuditChanges {
  private readonly logged = new Map<string, { signature: string; record: AuditLike }>();

  round<T extends AuditLike>(records: readonly T[]): (T | Cleared)[] {
    const out: (T | Cleared)[] = [];
    const seen = new Set<string>();
    for (const r of records) {
      const key = `${r.object ?? ''}|${r.workload ?? ''}`;
      const signature = `${r.decision}|${r.problem ?? ''}|${r.step ?? ''}`;
      seen.add(key);
      if (r.decision === 'act' || this.logged.get(key)?.signature !== signature) out.push(r);
      this.logged.set(key, { signature, record: r });
    }
    for (const [key, { record }] of this.logged) {
      if (seen.has(key)) continue;
      this.logged.delete(key);
      // "healthy" ends when problems appear, and those are logged themselves.
      if (record.decision !== 'healthy')
        out.push({
          ...(records[0]?.run ? { run: records[0].run } : {}),
          decision: 'cleared',
          ...(record.problem ? { problem: record.problem } : {}),
          ...(record.object ? { object: record.object } : {}),
          ...(record.workload ? { workload: record.workload } : {}),
          reason: `no longer seen (was: ${record.decision})`,
        });
    }
    return out;
  }
}

/** One log line per distinct text until it changes: the same alert every round says nothing new. */
class RepeatFilter {
  private readonly said = new Set<string>();
  private current = new Set<string>();
  fresh(line: string): boolean {
    this.current.add(line);
    return !this.said.has(line);
  }
  /** at the end of a round: a line not repeated in it may be said again later */
  endRound(): void {
    for (const l of this.current) this.said.add(l);
    for (const l of this.said) if (!this.current.has(l)) this.said.delete(l);
    this.current = new Set();
  }
}

/**
 * Routes one round's audit records and warnings through the filters: the
 * cycle (run.ts) writes every round in full, as cron's one-shot runs must,
 * so the watch, which alone repeats rounds within seconds, reduces them.
 * Actions are written at once (another process reads the budget from them);
 * the rest when the round ends. Returns the function that ends a round.
 */
async function filterRounds(ctx: SelfHealContext, auditStream: string): Promise<{ endRound(): void; undo(): void }> {
  const state = await ctx.state();
  const write = state.append.bind(state);
  const warn = ctx.out.warn.bind(ctx.out);
  const changes = new AuditChanges();
  const repeats = new RepeatFilter();
  let round: AuditLike[] = [];
  state.append = <T extends object>(stream: string, record: T): Stored<T> => {
    if (stream !== auditStream) return write(stream, record);
    const r = record as unknown as AuditLike;
    round.push(r);
    return r.decision === 'act' ? write(stream, record) : ({ at: new Date().toISOString(), ...record } as Stored<T>);
  };
  ctx.out.warn = (msg: string) => void (repeats.fresh(msg) && warn(msg));
  return {
    endRound() {
      const records = round;
      round = [];
      repeats.endRound();
      // A round skipped (the lock was busy) or cut short before it judged anything says nothing about what cleared.
      if (!records.length) return;
      for (const r of changes.round(records)) if (r.decision !== 'act') write(auditStream, r);
    },
    undo() {
      state.append = write;
      ctx.out.warn = warn;
    },
  };
}

/**
 * --watch: a cycle now, then again within `debounceMs` of any change to the
 * namespace's pods, deployments or jobs, and every `tickSec` (a grace period
 * ends without an event). Stops after `forSec` (0: on SIGINT/SIGTERM). While
 * the API server cannot be reached no cycle runs; exit 3 when that lasts
 * TODO_WATCH_UNREACHABLE or the watch is stopped during it.
 */
export async function healWatch(
  ctx: SelfHealContext,
  o: { forSec: number; cycle: () => Promise<unknown>; auditStream: string; debounceMs?: number; tickSec?: number },
): Promise<void> {
  const kube = await ctx.kube();
  const debounce = o.debounceMs ?? 300;
  const limitSec = ctx.cfg.TODO_WATCH_UNREACHABLE;
  let running = false;
  let current: Promise<void> = Promise.resolve();
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let failure: unknown;
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const guard = guardReachability(kube, {
    limitSec,
    onChange: (t) => {
      if (t.to === 'unreachable') ctx.out.warn(`self-heal: ${unreachableLine(t.outage, limitSec)}`);
      else {
        ctx.out.say(`self-heal: ${reachableLine(t)}`);
        schedule(); // what changed during the outage came with no event of its own
      }
    },
  });
  const rounds = await filterRounds(ctx, o.auditStream);
  const cycle = async () => {
    if (running) {
      again = true;
      return;
    }
    if (guard.state.outage) return;
    running = true;
    current = o.cycle().then(
      () => undefined,
      (e: unknown) => {
        // The cluster went away mid-round: the guard says so and the watch waits for it; anything else ends the watch.
        if (e instanceof OpsError && e.code === Exit.unreachable) guard.report(e);
        else {
          failure = e;
          stop();
        }
      },
    );
    await current;
    rounds.endRound();
    running = false;
    if (again) {
      again = false;
      schedule();
    }
  };
  const schedule = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void cycle();
    }, debounce);
  };
  const informers = ['Pod', 'Deployment', 'Job'].map((kind) =>
    kube.informer({
      apiVersion: kind === 'Pod' ? 'v1' : kind === 'Job' ? 'batch/v1' : 'apps/v1',
      kind,
      namespace: ctx.namespace,
      onChange: schedule,
      onError: (e) => ((failure = e), stop()),
      onUnreachable: (e) => guard.report(e),
    }),
  );
  const onSignal = () => stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let tick: NodeJS.Timeout | undefined;
  let end: NodeJS.Timeout | undefined;
  try {
    // The first Lists and round may wait on a server that just hung: a signal and the outage's bound count from the start.
    const setup = (async () => {
      await Promise.all(informers.map((i) => i.start()));
      ctx.out.say(`self-heal: watching namespace ${ctx.namespace}${o.forSec ? ` for ${o.forSec}s` : ''}`);
      await cycle();
      tick = setInterval(schedule, (o.tickSec ?? 30) * 1000);
      end = o.forSec ? setTimeout(stop, o.forSec * 1000) : undefined;
      return new Promise<never>(() => undefined);
    })();
    const expired = await Promise.race([stopped.then(() => undefined), guard.expired, setup]);
    if (expired) throw expired;
    if (failure) throw failure;
    const outage = guard.state.outage;
    if (outage) throw outageError(outage, 'stopped', kube);
  } finally {
    guard.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    clearInterval(tick);
    if (end) clearTimeout(end);
    if (timer) clearTimeout(timer);
    for (const i of informers) i.stop();
    // A round cut off by a hung server would hold the exit for its requests' timeouts: past the outage's bound, not waited for long.
    if (guard.state.outage) await Promise.race([current, new Promise((r) => setTimeout(r, 2000).unref())]);
    else await current;
    rounds.undo();
  }
}
