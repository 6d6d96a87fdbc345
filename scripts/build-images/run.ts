// build-images: the tag from git (or --tag), the builder (builders.ts), one
// planned build per image, then the builds, each timed.
import path from 'node:path';
import { repoRoot } from '../lib/kit/env.ts';
import { usageError } from '../lib/kit/errors.ts';
import { applyPlan, type PlannedAction } from '../lib/kit/plan.ts';
import { run } from '../lib/kit/shell.ts';
import { buildCommand, chooseBuilder, createdAt, imageDirs, type ImageName } from './builders.ts';
import { gitState, sourceUrl, stateTag } from './git.ts';
import type { BuildImagesContext } from './spec.ts';

export async function runBuildImages(ctx: BuildImagesContext): Promise<void> {
  const names: ImageName[] = ctx.opts.only ? [ctx.opts.only] : (Object.keys(imageDirs) as ImageName[]);
  const extraArgs = ctx.opts['build-arg'];
  for (const a of extraArgs)
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(a)) throw usageError(`--build-arg must be KEY=VALUE, got "${a}"`);

  const dirs = names.map((n) => path.join(repoRoot, imageDirs[n]));
  const state = await gitState(repoRoot, dirs);
  const tag = ctx.opts.tag ?? stateTag(state);
  if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw usageError(`--tag "${tag}" is not a valid image tag`);
  if (tag === 'latest')
    throw usageError(
      '--tag latest is refused: tag by commit so deploys are traceable and caches never serve a stale image',
    );

  const choice = await chooseBuilder({
    flag: ctx.opts.builder,
    setting: ctx.cfg.TODO_BUILDER,
    target: ctx.cfg.TODO_TARGET,
    warn: (m) => ctx.out.warn(m),
  });
  const registry = ctx.cfg.TODO_IMAGE_REGISTRY.replace(/\/+$/, '');
  const ref = (n: ImageName) => `${registry ? `${registry}/` : ''}todo-chatbot-${n}:${tag}`;
  const source = await sourceUrl(repoRoot);
  const labelArgs = [
    ...(source ? [`SOURCE=${source}`] : []),
    `REVISION=${state.sha}${state.dirty ? '-dirty' : ''}`,
    `VERSION=${tag}`,
    `CREATED=${createdAt()}`,
  ];
  const profile = ctx.context || 'minikube';
  const images = Object.fromEntries(names.map((n) => [n, ref(n)])) as Partial<Record<ImageName, string>>;
  const plan: PlannedAction<{ name: ImageName; argv: string[] }>[] = names.map((n, i) => ({
    what: `build with ${choice.builder}`,
    target: images[n]!,
    reason: choice.why,
    params: { name: n, argv: buildCommand(choice, dirs[i]!, ref(n), [...labelArgs, ...extraArgs], profile) },
  }));
  ctx.result.data = { images, builder: choice.builder, tag, commands: plan.map((p) => p.params!.argv) };
  ctx.out.debug(`builder ${choice.builder} (${choice.why}), tag ${tag}`);

  const seconds: Partial<Record<ImageName, number>> = {};
  await applyPlan(ctx, plan, async ({ params }) => {
    const [bin, ...args] = params!.argv;
    const t0 = Date.now();
    if (ctx.json)
      await ctx.out.progress(`building ${params!.name} with ${choice.builder}`, () =>
        run(bin!, args, { log: (m) => ctx.out.debug(m), timeout: '45m' }),
      );
    else {
      ctx.out.say(`building ${images[params!.name]} with ${choice.builder} ...`);
      await run(bin!, args, { stream: true, log: (m) => ctx.out.debug(m), timeout: '45m' });
    }
    seconds[params!.name] = Math.round((Date.now() - t0) / 100) / 10;
    return `${seconds[params!.name]} s`;
  });
  ctx.result.data.seconds = seconds;
}
