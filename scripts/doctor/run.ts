// doctor's run: the shared preflight checks (lib/preflight), which the scripts
// that change the cluster run first too; on the local profile, the local
// target's own state too.
import { Exit, type ExitCode } from '../lib/kit/errors.ts';
import { doctorFindings } from '../lib/preflight/checks.ts';
import type { DoctorContext } from './spec.ts';

export async function runDoctor(ctx: DoctorContext): Promise<ExitCode | void> {
  const { unreachable } = await doctorFindings(ctx);
  if (ctx.cfg.profile === 'local') await localTargetFindings(ctx);
  return unreachable ? Exit.unreachable : undefined;
}

/**
 * The local target (bootstrap --target local): is its cluster running, is its
 * context in the kubeconfig the scripts read, where is PostgreSQL's data. Not
 * required: the cluster check above already fails when it cannot be reached;
 * these say why and what brings it back.
 */
async function localTargetFindings(ctx: DoctorContext): Promise<void> {
  const [{ healthy, bedName }, local] = await Promise.all([
    import('../lib/local-cluster/cluster.ts'),
    import('../lib/local-cluster/local-target.ts'),
  ]);
  const again = 'npx zx scripts/bootstrap.ts --target local';
  const up = await healthy();
  ctx.result.finding({
    name: 'local cluster',
    level: up ? 'ok' : 'warn',
    detail: up ? `${bedName} is running (its real node Ready)` : `${bedName} is not running`,
    ...(up ? {} : { hint: `${again} (starts it, and redeploys the app onto the kept data)` }),
    required: false,
  });
  const file = ctx.kubeconfig ?? local.userKubeconfig();
  const present = local.hasLocalContext(file);
  ctx.result.finding({
    name: 'local context',
    level: present ? 'ok' : 'warn',
    detail: present ? `${local.localContext} in ${file}` : `no context ${local.localContext} in ${file}`,
    ...(present ? {} : { hint: `${again} --only cluster (merges it)` }),
    required: false,
  });
  const dir = local.postgresDataDir(ctx.namespace, ctx.release);
  const bytes = local.dirBytes(dir);
  ctx.result.finding({
    name: 'local data',
    level: 'info',
    detail: bytes
      ? `PostgreSQL's data: ${dir} (${(bytes / 1048576).toFixed(1)} MiB; rm -rf it, with the app removed, to start empty)`
      : `PostgreSQL's data: ${dir} (empty or not created yet: the first deploy initialises it)`,
    required: false,
  });
}
