// self-heal --watch under a crash storm on the bed's kwok nodes (the bed's
// crash-loop stage restarts the labelled pods every few hundred ms, so pod
// events, and with them rounds, keep coming): the audit stream logs changes,
// not every round's budget findings, while every action is still recorded.
import fs from 'node:fs';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedEnv, deleteNamespace, kube, tempNamespace } from '../helpers/cluster.ts';
import { run, scratchEnv } from '../helpers/run.ts';

interface Audit {
  run: string;
  decision: string;
  object?: string;
  status?: string;
}

describe('self-heal --watch under a crash storm', () => {
  const k = kube();
  let ns = '';

  beforeAll(async () => {
    ns = await tempNamespace('heal-watch-storm');
    await k.apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'storm', namespace: ns },
      spec: {
        replicas: 20,
        selector: { matchLabels: { app: 'storm' } },
        template: {
          metadata: {
            labels: { app: 'storm', 'todo-ops.test/crashloop': 'true' },
            annotations: { 'todo-ops.test/crashloop-delay-ms': '300' },
          },
          spec: { containers: [{ name: 'app', image: 'registry.example/app:1.0' }] },
        },
      },
    });
    await k.waitFor<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: ns,
      labelSelector: 'app=storm',
      timeoutSec: 90,
      done: (ps) =>
        ps.filter((p) => !p.metadata?.deletionTimestamp && (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1)
          .length === 20,
    });
  }, 150_000);
  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('40 s of 20 crash-looping pods: each finding logged when it appears or changes, every action kept, far fewer lines than rounds x pods', async () => {
    const state = scratchEnv();
    const r = await run('ops/self-heal.ts', ['-n', ns, '--watch', '--for', '40'], {
      env: { ...bedEnv(), ...state, TODO_RELEASE: 'none', TODO_SELF_HEAL_MAX_ACTIONS: '3' },
      timeoutMs: 120_000,
    });
    const dir = fs.readdirSync(state.TODO_STATE_DIR!)[0]!;
    const audit = fs
      .readFileSync(path.join(state.TODO_STATE_DIR!, dir, ns, 'self-heal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Audit);
    const rounds = new Set(audit.map((a) => a.run)).size;
    process.stderr.write(
      `[storm] ${audit.length} audit lines in 40 s (${audit.filter((a) => a.decision === 'act').length} actions, rounds with a line: ${rounds}); exit ${r.status}\n`,
    );
    const acts = audit.filter((a) => a.decision === 'act');
    expect(acts).toHaveLength(3); // the budget: every action is in the audit, once
    // A pod's finding is written once per change of decision, not once per round.
    const perPod = new Map<string, string[]>();
    for (const a of audit.filter((x) => x.object))
      perPod.set(a.object!, [...(perPod.get(a.object!) ?? []), a.decision]);
    for (const [, decisions] of perPod)
      for (let i = 1; i < decisions.length; i++) expect(decisions[i]).not.toBe(decisions[i - 1]);
    // Before: every round wrote all 20 (hundreds of lines in 40 s). Now: about one line per pod that was ever seen, plus changes.
    expect(audit.length).toBeLessThan(100);
    // The same alert is not repeated on stderr round after round.
    const alertLines = r.stderr.split('\n').filter((l) => l.includes('self-heal alert: self-heal stopped'));
    expect(new Set(alertLines).size).toBe(alertLines.length);
  }, 150_000);
});
