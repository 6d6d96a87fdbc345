// Whether the API server still answers, for the long-running modes (monitor
// --watch, self-heal --watch). An informer alone is not enough: a server that
// hangs never closes its watches, and a cache keeps the last objects it had,
// so a view drawn from it would go on saying "healthy". So a cheap GET /readyz
// every few seconds, plus the errors the watches and requests themselves meet,
// whichever notices first. The state machine is pure (unit-tested); the guard
// drives it and says when the outage has lasted long enough to give up (exit 3).
import { ApiException, fetch } from './k8s.ts';
import { Exit, OpsError } from '../kit/errors.ts';
import { netCode } from './api.ts';
import type { Kube } from './client.ts';

export interface Outage {
  since: Date;
  /** what failed first: ECONNREFUSED, timeout, readyz HTTP 500... */
  why: string;
}

export type Transition = { to: 'unreachable'; outage: Outage } | { to: 'reachable'; outage: Outage; at: Date };

/** Reachable until a request fails for want of the server; unreachable until one is answered. */
export class Reachability {
  readonly limitSec: number;
  private down?: Outage;
  constructor(limitSec: number) {
    this.limitSec = limitSec;
  }
  /** the outage under way, undefined while the server answers */
  get outage(): Outage | undefined {
    return this.down;
  }
  answered(at: Date): Transition | undefined {
    const was = this.down;
    this.down = undefined;
    return was ? { to: 'reachable', outage: was, at } : undefined;
  }
  failed(at: Date, why: string): Transition | undefined {
    if (this.down) return undefined;
    this.down = { since: at, why };
    return { to: 'unreachable', outage: this.down };
  }
  /** unreachable for limitSec or longer: time to give up */
  expired(at: Date): boolean {
    return this.down !== undefined && at.getTime() - this.down.since.getTime() >= this.limitSec * 1000;
  }
}

/** Why an error means the server was not reached (undefined: it answered, even if with a refusal). */
export function unreachableWhy(e: unknown): string | undefined {
  if (e instanceof OpsError)
    return e.code === Exit.unreachable ? (/\(([^)]+)\) during/.exec(e.message)?.[1] ?? 'unreachable') : undefined;
  if (e instanceof ApiException && e.code >= 502 && e.code <= 504) return `HTTP ${e.code}`;
  const code = netCode(e);
  if (code) return code;
  return (e as Error | undefined)?.name === 'TimeoutError' || (e as Error | undefined)?.name === 'AbortError'
    ? 'timeout'
    : undefined;
}

/** 14:03:07, local time: what a person on call compares with the clock on the wall. */
const clockTime = (d: Date) => d.toTimeString().slice(0, 8);

export function unreachableLine(o: Outage, limitSec: number): string {
  return `cluster unreachable since ${clockTime(o.since)} (${o.why}); retrying, giving up after ${limitSec}s`;
}

export function reachableLine(t: Extract<Transition, { to: 'reachable' }>): string {
  const sec = Math.round((t.at.getTime() - t.outage.since.getTime()) / 1000);
  return `cluster reachable again at ${clockTime(t.at)} (unreachable for ${sec}s)`;
}

/** The end of a watch over an outage: exit 3, whether it lasted too long or the user stopped it. */
export function outageError(o: Outage, how: 'expired' | 'stopped', kube: { server: string; contextName: string }) {
  const what =
    how === 'expired'
      ? `cluster unreachable since ${clockTime(o.since)} (${o.why}): gave up after TODO_WATCH_UNREACHABLE`
      : `stopped while the cluster is unreachable (since ${clockTime(o.since)}, ${o.why})`;
  return new OpsError(
    `${what}; API server ${kube.server}`,
    Exit.unreachable,
    `is the cluster running? kubectl --context ${kube.contextName} get --raw /readyz`,
  );
}

/** One GET /readyz, no retries: answered (any status under 500) or why not. */
async function probeApi(kube: Kube, timeoutMs: number): Promise<string | undefined> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const init = await kube.kc.applyToFetchOptions({ method: 'GET' });
    const res = await fetch(`${kube.server.replace(/\/+$/, '')}/readyz`, {
      ...init,
      signal: controller.signal as never,
    });
    await res.text();
    // A server that answers but is not ready (its etcd is gone) cannot serve the watches either.
    return res.status >= 500 ? `readyz HTTP ${res.status}` : undefined;
  } catch (e) {
    return controller.signal.aborted ? 'timeout' : (unreachableWhy(e) ?? (e as Error).message.split('\n')[0]);
  } finally {
    clearTimeout(timer);
  }
}

export interface ReachabilityGuard {
  readonly state: Reachability;
  /** an error a watch or a request met: one that may mean the server is gone is checked with a probe at once */
  report(e: unknown): void;
  /** resolves once the outage has lasted limitSec, with the error to end the run with (exit 3) */
  readonly expired: Promise<OpsError>;
  stop(): void;
}

export interface GuardOptions {
  limitSec: number;
  /** seconds between probes */
  everySec?: number;
  probeTimeoutMs?: number;
  onChange(t: Transition): void;
  /** for tests: the probe and the clock */
  probe?: () => Promise<string | undefined>;
  now?: () => Date;
}

/** Probes the API server every `everySec` and takes reports from the watches; calls onChange on every transition. */
export function guardReachability(kube: Kube, o: GuardOptions): ReachabilityGuard {
  const state = new Reachability(o.limitSec);
  const now = o.now ?? (() => new Date());
  const probe = o.probe ?? (() => probeApi(kube, o.probeTimeoutMs ?? 3000));
  let stopped = false;
  let expire!: (e: OpsError) => void;
  const expired = new Promise<OpsError>((r) => (expire = r));
  let deadline: NodeJS.Timeout | undefined;
  const giveUp = () => {
    if (!stopped && state.expired(now())) expire(outageError(state.outage!, 'expired', kube));
  };
  const note = (t: Transition | undefined) => {
    if (!t || stopped) return;
    // Given up at the bound itself, not at the next probe after it (a probe of a hung server takes its timeout).
    clearTimeout(deadline);
    if (t.to === 'unreachable') deadline = setTimeout(giveUp, o.limitSec * 1000);
    o.onChange(t);
  };
  let probing = false;
  const tick = async () => {
    if (probing || stopped) return;
    probing = true;
    try {
      const why = await probe();
      if (stopped) return;
      const at = now();
      note(why === undefined ? state.answered(at) : state.failed(at, why));
      giveUp();
    } finally {
      probing = false;
    }
  };
  const timer = setInterval(() => void tick(), (o.everySec ?? 2) * 1000);
  return {
    state,
    expired,
    report(e) {
      // A dropped watch is often only the server closing it: the probe, asked at once, decides.
      if (unreachableWhy(e) !== undefined) void tick();
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(deadline);
    },
  };
}
