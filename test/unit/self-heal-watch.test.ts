// self-heal --watch under a crash storm: the audit of rounds that come every
// second or two is reduced to its changes (AuditChanges), while every action
// is still written (the budget is counted from them).
import { describe, expect, it } from 'vitest';
import { AuditChanges } from '../../ops/self-heal/watch.ts';

const budget = (pod: number, run: string) => ({
  run,
  decision: 'budget',
  problem: 'CrashLoopBackOff',
  object: `pod/web-${pod}`,
  workload: 'deployment/web',
  reason: 'the action budget (5 per 3600s) is spent',
});
const act = (pod: number, run: string) => ({
  run,
  decision: 'act',
  problem: 'CrashLoopBackOff',
  object: `pod/web-${pod}`,
  workload: 'deployment/web',
  step: 'delete-pod',
  reason: 'delete the pod: its controller makes a new one',
});

describe('AuditChanges', () => {
  it('20 crash-looping pods for 40 rounds: each finding once, each action always, then one "cleared" each', () => {
    const log = new AuditChanges();
    const pods = Array.from({ length: 20 }, (_, i) => i);
    const written: { decision: string; object?: string }[] = [];
    // Round 1: 5 actions, 15 over budget.
    written.push(...log.round(pods.map((p) => (p < 5 ? act(p, 'r1') : budget(p, 'r1')))));
    expect(written.map((r) => r.decision)).toEqual([...Array(5).fill('act'), ...Array(15).fill('budget')]);
    for (let n = 2; n <= 40; n++) written.push(...log.round(pods.map((p) => budget(p, `r${n}`))));
    // Round 2 changed the 5 acted-on pods to "budget"; rounds 3-40 changed nothing.
    expect(written).toHaveLength(25);
    expect(written.slice(20).map((r) => [r.decision, r.object])).toEqual(
      pods.slice(0, 5).map((p) => ['budget', `pod/web-${p}`]),
    );
    // The storm ends: the namespace is healthy; every open finding is cleared, once.
    const end = log.round([{ run: 'r41', decision: 'healthy', reason: 'no problems: 20 pods, 1 workloads checked' }]);
    expect(end.map((r) => r.decision)).toEqual(['healthy', ...Array(20).fill('cleared')]);
    expect(end[1]).toEqual({
      run: 'r41',
      decision: 'cleared',
      problem: 'CrashLoopBackOff',
      object: 'pod/web-0',
      workload: 'deployment/web',
      reason: 'no longer seen (was: budget)',
    });
    expect(log.round([{ run: 'r42', decision: 'healthy', reason: 'no problems' }])).toEqual([]);
  });
  it('only the wording changed (a cooldown counting down): not written again; another decision is', () => {
    const log = new AuditChanges();
    const cooldown = (left: number) => ({
      decision: 'cooldown',
      problem: 'CrashLoopBackOff',
      object: 'pod/web-1',
      workload: 'deployment/web',
      reason: `acted on deployment/web 10s ago; waiting ${left}s more to see whether it helped`,
    });
    expect(log.round([cooldown(110)])).toHaveLength(1);
    expect(log.round([cooldown(100)])).toEqual([]);
    const restart = { ...act(1, 'r3'), step: 'restart' };
    expect(log.round([restart])).toEqual([restart]);
    expect(log.round([restart])).toEqual([restart]); // an action is never deduplicated
  });
});
