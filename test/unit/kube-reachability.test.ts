// The reachability state machine the long-running modes share (monitor --watch,
// self-heal --watch): when the cluster counts as lost, when as back, when the
// outage has lasted long enough to give up, and what the guard does with its
// probe and with the errors the watches report.
import { ApiException } from '../../scripts/lib/kube/k8s.ts';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Exit, OpsError } from '../../scripts/lib/kit/errors.ts';
import {
  Reachability,
  guardReachability,
  outageError,
  reachableLine,
  unreachableLine,
  unreachableWhy,
  type Transition,
} from '../../scripts/lib/kube/reachability.ts';

const t0 = new Date(2026, 10, 27, 14, 3, 7);
const at = (sec: number) => new Date(t0.getTime() + sec * 1000);
const fakeKube = { server: 'https://127.0.0.1:6443', contextName: 'bed' } as never;

describe('Reachability', () => {
  it('lost at the first failure, with its time and cause; further failures keep the first time', () => {
    const r = new Reachability(60);
    expect(r.answered(at(0))).toBeUndefined();
    expect(r.failed(at(1), 'ECONNREFUSED')).toEqual({
      to: 'unreachable',
      outage: { since: at(1), why: 'ECONNREFUSED' },
    });
    expect(r.failed(at(3), 'timeout')).toBeUndefined();
    expect(r.outage).toEqual({ since: at(1), why: 'ECONNREFUSED' });
  });
  it('expires after limitSec of outage, not before; an answer ends the outage and resets the clock', () => {
    const r = new Reachability(5);
    r.failed(at(0), 'ECONNREFUSED');
    expect(r.expired(at(4.9))).toBe(false);
    expect(r.expired(at(5))).toBe(true);
    const back = r.answered(at(6));
    expect(back).toEqual({ to: 'reachable', outage: { since: at(0), why: 'ECONNREFUSED' }, at: at(6) });
    expect(r.expired(at(100))).toBe(false);
    r.failed(at(100), 'timeout');
    expect(r.expired(at(104))).toBe(false);
  });
  it('the lines a person reads: the clock time, the cause, the bound; how long it lasted', () => {
    expect(unreachableLine({ since: t0, why: 'ECONNREFUSED' }, 60)).toBe(
      'cluster unreachable since 14:03:07 (ECONNREFUSED); retrying, giving up after 60s',
    );
    expect(reachableLine({ to: 'reachable', outage: { since: t0, why: 'timeout' }, at: at(12) })).toBe(
      'cluster reachable again at 14:03:19 (unreachable for 12s)',
    );
    const e = outageError({ since: t0, why: 'timeout' }, 'expired', fakeKube);
    expect(e.code).toBe(Exit.unreachable);
    expect(e.message).toMatch(/^cluster unreachable since 14:03:07 \(timeout\): gave up after TODO_WATCH_UNREACHABLE/);
    expect(outageError({ since: t0, why: 'timeout' }, 'stopped', fakeKube).message).toMatch(
      /^stopped while the cluster is unreachable \(since 14:03:07, timeout\)/,
    );
  });
  it('which errors mean the server was not reached', () => {
    expect(unreachableWhy(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED');
    expect(
      unreachableWhy(
        new OpsError('cannot reach the Kubernetes API at https://x (ECONNRESET) during list Pod', Exit.unreachable),
      ),
    ).toBe('ECONNRESET');
    expect(unreachableWhy(new ApiException(503, 'unavailable', '', {}))).toBe('HTTP 503');
    expect(unreachableWhy(Object.assign(new Error('x'), { name: 'TimeoutError' }))).toBe('timeout');
    // The server answered: a refusal is not an outage.
    expect(unreachableWhy(new ApiException(403, 'forbidden', '', {}))).toBeUndefined();
    expect(unreachableWhy(new OpsError('bad flag', Exit.usage))).toBeUndefined();
  });
});

describe('guardReachability', () => {
  afterEach(() => vi.useRealTimers());

  it('probes every few seconds: says lost, then back, and resolves expired (exit 3) when the outage reaches the bound', async () => {
    vi.useFakeTimers({ now: t0 });
    let answer: string | undefined;
    const seen: Transition[] = [];
    const g = guardReachability(fakeKube, {
      limitSec: 5,
      everySec: 2,
      probe: async () => answer,
      onChange: (t) => seen.push(t),
    });
    let expired: OpsError | undefined;
    void g.expired.then((e) => (expired = e));
    await vi.advanceTimersByTimeAsync(2000);
    expect(seen).toEqual([]);
    answer = 'ECONNREFUSED';
    await vi.advanceTimersByTimeAsync(2000); // t=4: lost
    expect(seen.map((t) => t.to)).toEqual(['unreachable']);
    answer = undefined;
    await vi.advanceTimersByTimeAsync(2000); // t=6: back
    expect(seen.map((t) => t.to)).toEqual(['unreachable', 'reachable']);
    answer = 'timeout';
    await vi.advanceTimersByTimeAsync(2000); // t=8: lost again
    await vi.advanceTimersByTimeAsync(4000); // t=12: 4 s
    expect(expired).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1000); // t=13: 5 s, at the bound itself (no probe at this moment)
    expect(expired?.code).toBe(Exit.unreachable);
    expect(expired?.message).toMatch(/^cluster unreachable since 14:03:15 \(timeout\)/);
    g.stop();
  });
  it("a watch's network error asks the probe at once (no wait for the next tick); a refusal does not", async () => {
    vi.useFakeTimers({ now: t0 });
    const probe = vi.fn(async () => 'ECONNREFUSED' as string | undefined);
    const seen: Transition[] = [];
    const g = guardReachability(fakeKube, { limitSec: 60, everySec: 5, probe, onChange: (t) => seen.push(t) });
    g.report(new ApiException(403, 'forbidden', '', {}));
    await vi.advanceTimersByTimeAsync(0);
    expect(probe).not.toHaveBeenCalled();
    g.report(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    await vi.advanceTimersByTimeAsync(0);
    expect(probe).toHaveBeenCalledTimes(1);
    expect(seen).toEqual([{ to: 'unreachable', outage: { since: t0, why: 'ECONNREFUSED' } }]);
    g.stop();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(probe).toHaveBeenCalledTimes(1); // stopped: no more probes
  });
});
