// ops/agents.ts against kagent's real CRDs (v0.9.12, ../shared/vendor): before
// they are installed, apply exits 1 with a hint; then every object the chart
// renders passes the API server's validation (server-side apply, dry run and
// real) in the release namespace; remove deletes them. Here they are validated
// and stored only (apply --wait 0); test/real-node/kagent-real.test.ts runs the
// real controller. Deleting the CRDs under a live controller breaks it: with
// kagent on the bed (kagent-real, TODO_OPS_BED_KAGENT=1) that case is skipped.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedEnv, deleteNamespace, kube, sh, tempNamespace } from '../helpers/cluster.ts';
import { assertFailure, assertSuccess, repoRoot, run, scratchEnv } from '../helpers/run.ts';
import { kagentRunning, kagentWanted } from '../../scripts/lib/local-cluster/kagent.ts';
import { exclusive } from '../helpers/bed-lock.ts';

// kagent's CRDs are cluster-wide: this file deletes them, kagent-real's controller needs them. One at a time.
exclusive('kagent-crds');

/** ../shared/vendor beside the checkout (or beside a parent of it, for a git worktree). */
function vendorDir(name: string): string {
  for (let dir = repoRoot; ; dir = path.dirname(dir)) {
    const candidate = path.join(path.dirname(dir), 'shared', 'vendor', name);
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return path.resolve(repoRoot, '../shared/vendor', name);
  }
}
const crdDir = vendorDir('kagent-crds-v0.9.12');
const crds = ['agents', 'modelconfigs', 'remotemcpservers', 'toolservers', 'memories'].map((p) => `${p}.kagent.dev`);
interface Doc {
  exitCode: number;
  actions: { what: string; target: string; status: string; detail?: string }[];
  data: { objects: string[] };
}

/** kagent's controller runs on the bed (or the run asked for it): its CRDs must stay. */
const liveController = () => kagentWanted() || !!kagentRunning();

describe.runIf(fs.existsSync(crdDir))("ops/agents.ts with kagent's real CRDs", () => {
  let ns = '';
  let env: NodeJS.ProcessEnv;
  const agents = (...args: string[]) => run('ops/agents.ts', ['-o', 'json', ...args], { env });

  beforeAll(async () => {
    ns = await tempNamespace('agents');
    env = { ...bedEnv(), ...scratchEnv({ TODO_NAMESPACE: ns, TODO_RELEASE: 'todo' }) };
    // Start from a cluster without them (an earlier run of this file may have left them), unless a controller lives.
    if (!liveController()) await sh()`kubectl delete crd ${crds} --ignore-not-found --wait=true`;
  }, 60_000);
  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('without the CRDs: apply exits 1 with a one-line hint; render still works', async (t) => {
    if (liveController()) t.skip();
    const r = await agents('apply');
    assertFailure(r, 1);
    expect(r.stderr).toMatch(
      /^agents: kagent's CRDs \(kagent\.dev\/v1alpha2 Agent, ModelConfig\) are not installed in this cluster\nhint: install kagent first/,
    );
    const render = await agents('render');
    assertSuccess(render);
    expect(render.json<Doc>().data.objects).toEqual([
      'modelconfig/todo-kagent-model',
      'agent/todo-self-healer',
      'agent/todo-monitor',
    ]);
  }, 60_000);

  it('with the CRDs: --dry-run is validated by the API server and stores nothing; apply stores them in the release namespace; remove deletes them', async () => {
    await sh()`kubectl apply --server-side -f ${crdDir}`;
    await Promise.all(
      ['agents.kagent.dev', 'modelconfigs.kagent.dev'].map((name) =>
        kube().waitFor<{ metadata: object; status?: { conditions?: { type: string; status: string }[] } }>({
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          fieldSelector: `metadata.name=${name}`,
          timeoutSec: 60,
          done: ([c]) => !!c?.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True'),
        }),
      ),
    );
    const dry = await agents('apply', '--dry-run');
    assertSuccess(dry);
    expect(dry.json<Doc>().actions.map((a) => [a.target, a.detail])).toEqual([
      ['modelconfig/todo-kagent-model', 'validated by the API server (dry run)'],
      ['agent/todo-self-healer', 'validated by the API server (dry run)'],
      ['agent/todo-monitor', 'validated by the API server (dry run)'],
    ]);
    expect(await kube().list('kagent.dev/v1alpha2', 'Agent', ns)).toEqual([]);
    // --wait 0: stored, not waited for (no controller reconciles them here).
    assertSuccess(await agents('apply', '--wait', '0'));
    const stored = await kube().list<{
      metadata: { name: string };
      spec: { declarative: { modelConfig: string; tools: { mcpServer: { name: string; namespace?: string } }[] } };
    }>('kagent.dev/v1alpha2', 'Agent', ns);
    expect(stored.map((a) => a.metadata.name).sort()).toEqual(['todo-monitor', 'todo-self-healer']);
    expect(stored[0]!.spec.declarative.modelConfig).toBe('todo-kagent-model');
    expect(stored[0]!.spec.declarative.tools[0]!.mcpServer).toMatchObject({
      name: 'kagent-tool-server',
      namespace: 'kagent',
    });
    const removed = await agents('remove', '--yes');
    assertSuccess(removed);
    expect(await kube().list('kagent.dev/v1alpha2', 'Agent', ns)).toEqual([]);
  }, 90_000);
});
