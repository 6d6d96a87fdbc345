#!/usr/bin/env -S npx zx
// Builds the frontend and backend images with whichever builder is here and
// prints their references for deploy. Tags are the git short SHA (+ -dirty),
// never latest: `minikube image load`/IfNotPresent never replace a known tag.
import path from 'node:path';
import { main } from './lib/kit/cli.ts';
import { applyPlan, type PlannedAction } from './lib/kit/plan.ts';
import { commandLine } from './lib/kit/shell.ts';
import { repoRoot } from './lib/kit/env.ts';
import { usageError } from './lib/kit/errors.ts';
import { gitState, sourceUrl, stateTag } from './build-images/git.ts';
import { builders, buildCommand, chooseBuilder, createdAt, imageDirs, type ImageName } from './build-images/builders.ts';
import { run } from './lib/kit/tools.ts';

const options = {
  builder: { type: 'enum', choices: ['auto', ...builders], help: 'image builder (default $TODO_BUILDER, else auto)' },
  only: { type: 'enum', choices: ['frontend', 'backend'], help: 'build one image only' },
  tag: { type: 'string', arg: 'TAG', help: 'tag to use instead of the git short SHA' },
  'build-arg': { type: 'list', arg: 'KEY=VALUE', help: 'extra build arg, e.g. NODE_IMAGE=... (repeatable)' },
} as const;

await main({
  name: 'build-images',
  summary: 'build the frontend and backend images, tagged with the git short SHA',
  description: `Builder: --builder, else TODO_BUILDER, else minikube (image build into the node) when
TODO_TARGET=minikube and minikube is present, else docker when \`docker info\` answers, else buildah.
Images: <TODO_IMAGE_REGISTRY/>todo-chatbot-{frontend,backend}:<short sha>[-dirty]; -dirty when the
image folders have uncommitted changes. Sets the OCI label build args SOURCE, REVISION, VERSION and
CREATED (SOURCE_DATE_EPOCH makes CREATED reproducible). --context is the minikube profile. Prints the
references; with --output json its data is {images: {frontend, backend}, builder, tag} for deploy.`,
  touches: 'changes',
  options,
  examples: [
    'npx zx scripts/build-images.ts',
    'npx zx scripts/build-images.ts --only backend --builder docker',
    'npx zx scripts/build-images.ts --dry-run --output json',
  ],
  async run(ctx) {
    const names = (ctx.opts.only ? [ctx.opts.only] : Object.keys(imageDirs)) as ImageName[];
    const extraArgs = ctx.opts['build-arg'];
    for (const a of extraArgs) if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(a)) throw usageError(`--build-arg must be KEY=VALUE, got "${a}"`);

    const dirs = names.map((n) => path.join(repoRoot, imageDirs[n]));
    const state = await gitState(repoRoot, dirs);
    const tag = ctx.opts.tag ?? stateTag(state);
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw usageError(`--tag "${tag}" is not a valid image tag`);
    if (tag === 'latest') throw usageError('--tag latest is refused: tag by commit so deploys are traceable and caches never serve a stale image');

    const choice = await chooseBuilder({ flag: ctx.opts.builder, setting: ctx.cfg.TODO_BUILDER, target: ctx.cfg.TODO_TARGET, warn: (m) => ctx.out.warn(m) });
    const registry = ctx.cfg.TODO_IMAGE_REGISTRY.replace(/\/+$/, '');
    const ref = (n: ImageName) => `${registry ? `${registry}/` : ''}todo-chatbot-${n}:${tag}`;
    const source = await sourceUrl(repoRoot);
    const labelArgs = [...(source ? [`SOURCE=${source}`] : []), `REVISION=${state.sha}${state.dirty ? '-dirty' : ''}`, `VERSION=${tag}`, `CREATED=${createdAt()}`];
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
      if (ctx.json) await ctx.out.progress(`building ${params!.name} with ${choice.builder}`, () => run(bin!, args, { log: (m) => ctx.out.debug(m), timeout: '45m' }));
      else {
        ctx.out.say(`building ${images[params!.name]} with ${choice.builder} ...`);
        await run(bin!, args, { stream: true, log: (m) => ctx.out.debug(m), timeout: '45m' });
      }
      seconds[params!.name] = Math.round((Date.now() - t0) / 100) / 10;
      return `${seconds[params!.name]} s`;
    });
    ctx.result.data.seconds = seconds;
  },
  render(result, ctx) {
    const { images, builder, tag, commands } = result.data as { images: Record<string, string>; builder: string; tag: string; commands: string[][] };
    if (ctx.dryRun) {
      ctx.out.say(`dry run: would build with ${builder} (${result.actions[0]?.reason}):`);
      for (const c of commands) ctx.out.say(`  ${commandLine(c[0]!, c.slice(1))}`);
    } else if (result.actions.some((a) => a.status === 'failed')) {
      for (const a of result.actions) ctx.out.say(`${a.target}: ${a.status}${a.detail ? ` (${a.detail})` : ''}`);
      return;
    } else ctx.out.say(`built with ${builder}, tag ${tag}:`);
    for (const [n, r] of Object.entries(images)) ctx.out.say(`${n.padEnd(8)}  ${r}${(result.data.seconds as Record<string, number> | undefined)?.[n] !== undefined ? `  (${(result.data.seconds as Record<string, number>)[n]} s)` : ''}`);
  },
});
