// scale --ai "<request>" without frontend|backend N: kubectl-ai acts first, then
// scale's deterministic part checks what it left: each Deployment of the
// release against the deployed revision, waiting for Ready where they differ.
// A count changed by kubectl-ai is outside the release values, so the next
// deploy or scale returns it: said as a warning with the command that keeps it.
import type { V1Deployment } from '@kubernetes/client-node';
import { waitForRollout } from '../lib/kube/rollout.ts';
import { appSecretName } from '../lib/release/secrets.ts';
import { parseManifest } from '../lib/release/manifests.ts';
import { observeRelease } from '../lib/release/history.ts';
import { usageError } from '../lib/kit/errors.ts';
import type { ScaleContext } from './spec.ts';

const component = (d: { metadata?: { labels?: Record<string, string> } }) =>
  d.metadata?.labels?.['app.kubernetes.io/component'] ?? '?';

async function releaseDeployments(ctx: ScaleContext): Promise<V1Deployment[]> {
  const kube = await ctx.kube();
  const deps = await kube.list<V1Deployment & { apiVersion?: string; kind?: string }>(
    'apps/v1',
    'Deployment',
    ctx.namespace,
    `app.kubernetes.io/instance=${ctx.release}`,
  );
  return deps.filter((d) => ['frontend', 'backend'].includes(component(d)));
}

/** What kubectl-ai is told before it acts: the release's scalable Deployments as they are. */
export async function scaleAiContext(ctx: ScaleContext): Promise<string> {
  const deps = await releaseDeployments(ctx);
  if (!deps.length) return `release ${ctx.release} has no frontend or backend Deployment in namespace ${ctx.namespace}`;
  return deps
    .map(
      (d) =>
        `- deployment/${d.metadata?.name} (component ${component(d)}): spec.replicas ${d.spec?.replicas ?? 1}, ready ${d.status?.readyReplicas ?? 0}`,
    )
    .join('\n');
}

/** scale's deterministic check after kubectl-ai: live replicas against the deployed revision. */
export async function scaleCheckAfterAi(ctx: ScaleContext): Promise<void> {
  const observed = await observeRelease(ctx, appSecretName(ctx.release));
  if (!observed.deployed)
    throw usageError(
      `release ${ctx.release} is not installed in namespace ${ctx.namespace}`,
      'npx zx scripts/deploy.ts',
    );
  const declared = new Map(
    [...parseManifest(observed.deployed.manifest).values()]
      .filter((o) => o.kind === 'Deployment')
      .map((o) => [o.metadata.name, (o as { spec?: { replicas?: number } }).spec?.replicas ?? 1]),
  );
  const kube = await ctx.kube();
  const rows: Record<string, unknown>[] = [];
  for (const d of await releaseDeployments(ctx)) {
    const name = d.metadata!.name!;
    const c = component(d);
    const live = d.spec?.replicas ?? 1;
    const want = declared.get(name);
    let ready = d.status?.readyReplicas ?? 0;
    if (ready !== live && !ctx.dryRun)
      ready = (
        await ctx.out.progress(`waiting for deployment/${name} to be Ready`, () =>
          waitForRollout(kube, { kind: 'Deployment', name, namespace: ctx.namespace, timeoutSec: ctx.timeoutSec }),
        )
      ).ready;
    rows.push({ deployment: name, component: c, replicas: live, ready, release: want ?? null });
    const object = { kind: 'Deployment', name, namespace: ctx.namespace };
    if (want !== undefined && want !== live)
      ctx.result.finding({
        name: 'replicas outside the release',
        level: 'warn',
        required: false,
        object,
        detail: `deployment/${name} has ${live} replica(s) (${ready} ready); revision ${observed.deployed.revision} says ${want}: the next deploy or scale returns it to ${want}`,
        hint: `npx zx scripts/scale.ts ${c} ${live}   # keeps ${live} in the release values`,
      });
    else
      ctx.result.finding({
        name: 'replicas',
        level: 'ok',
        required: false,
        object,
        detail: `deployment/${name}: ${live} replica(s), ${ready} ready`,
      });
  }
  ctx.result.data = { ...ctx.result.data, deployments: rows };
}
