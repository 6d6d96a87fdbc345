import { inject, describe, expect, it } from 'vitest';
import { assertFailure, assertSuccess, run, scratchEnv } from '../helpers/run.ts';
import { bedEnv } from '../helpers/cluster.ts';

describe('doctor against the test bed', () => {
  it('passes with valid JSON: cluster, nodes, metrics API and tools all ok', async () => {
    const r = await run('scripts/doctor.ts', ['--profile', 'testbed', '--output', 'json'], { env: { ...bedEnv(), ...scratchEnv() } });
    assertSuccess(r);
    const doc = r.json<{ ok: boolean; checks: { name: string; level: string; detail: string }[] }>();
    expect(doc.ok).toBe(true);
    const byName = Object.fromEntries(doc.checks.map((c) => [c.name, c]));
    expect(byName.cluster?.detail).toContain('v1.33');
    expect(byName.nodes).toMatchObject({ level: 'ok', detail: '3/3 Ready' });
    expect(byName['metrics API']?.level).toBe('ok');
    expect(byName['tool helm']?.level).toBe('ok');
  });

  it('--context naming a context the kubeconfig lacks exits 3 with the known contexts', async () => {
    const r = await run('scripts/doctor.ts', ['--profile', 'testbed', '--context', 'nope'], { env: { ...bedEnv(), ...scratchEnv() } });
    assertFailure(r, 3);
    expect(r.output).toContain('context "nope" not found in kubeconfig');
    expect(r.output).toContain(`kwok-${inject('kubeconfig').includes('todo-ops-bed') ? 'todo-ops-bed' : ''}`);
  });
});
