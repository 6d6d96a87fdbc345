#!/usr/bin/env -S npx zx
// Builds the frontend and backend images with whichever builder is here and
// prints their references for deploy. Tags are the git short SHA (+ -dirty),
// never latest: `minikube image load`/IfNotPresent never replace a known tag.
import path from 'node:path';
import { $ } from 'zx';
import { main, type Context } from './lib/cli.ts';
import { repoRoot } from './lib/config.ts';
import { Exit, OpsError, usageError } from './lib/errors.ts';
import { gitState, sourceUrl, stateTag } from './lib/git.ts';
import { detect, requireTool, run, type ToolInfo } from './lib/tools.ts';

const imageDirs = { frontend: 'frontend-docker', backend: 'backend-docker' } as const;
type ImageName = keyof typeof imageDirs;
type Builder = 'docker' | 'minikube' | 'buildah';
const builders: Builder[] = ['docker', 'minikube', 'buildah'];

interface Choice {
  builder: Builder;
  bin: string;
  why: string;
}

async function dockerDaemonUp(bin: string): Promise<boolean> {
  const r = await $({ quiet: true, nothrow: true, timeout: '20s' })`${bin} info --format ${'{{.ServerVersion}}'}`;
  return r.exitCode === 0;
}

/** --builder, else TODO_BUILDER, else: minikube for a minikube target, docker with a daemon, buildah. */
async function chooseBuilder(ctx: Context): Promise<Choice> {
  const wanted = ctx.str('builder') ?? ctx.cfg.TODO_BUILDER;
  if (wanted !== 'auto') {
    if (!builders.includes(wanted as Builder)) throw usageError(`--builder must be one of auto, ${builders.join(', ')}, got "${wanted}"`);
    const info = await requireTool(wanted as Builder);
    return { builder: wanted as Builder, bin: info.name, why: ctx.str('builder') ? '--builder' : 'TODO_BUILDER' };
  }
  const [minikube, docker, buildah] = await Promise.all([detect('minikube'), detect('docker'), detect('buildah')]);
  if (ctx.cfg.TODO_TARGET === 'minikube') {
    if (minikube.ok) return { builder: 'minikube', bin: 'minikube', why: 'TODO_TARGET=minikube' };
    ctx.out.warn(`TODO_TARGET=minikube but minikube is unusable (${minikube.problem}): building locally, the cluster will not see these images until loaded`);
  }
  const dockerUp = docker.ok && (await dockerDaemonUp(docker.path!));
  if (dockerUp) return { builder: 'docker', bin: 'docker', why: '`docker info` answers' };
  if (buildah.ok) return { builder: 'buildah', bin: 'buildah', why: docker.ok ? 'docker daemon unreachable' : 'no docker' };
  const state = (t: ToolInfo) => `${t.name} ${t.ok ? 'present' : t.problem}`;
  const dockerState = docker.ok ? 'docker present but its daemon is unreachable (docker info failed)' : state(docker);
  throw new OpsError(
    `no image builder: ${[dockerState, state(buildah), ...(ctx.cfg.TODO_TARGET === 'minikube' ? [state(minikube)] : [])].join('; ')}`,
    Exit.usage,
    'install docker (and start it), buildah, or minikube for the minikube target; --builder picks one',
  );
}

/** The exact argv for one image. Build args are the OCI labels' values plus the user's. */
function buildCommand(c: Pick<Choice, 'builder' | 'bin'>, dir: string, ref: string, buildArgs: string[], minikubeProfile: string): string[] {
  switch (c.builder) {
    case 'docker':
      return [c.bin, 'build', '--file', path.join(dir, 'Dockerfile'), '--tag', ref, ...buildArgs.flatMap((a) => ['--build-arg', a]), dir];
    case 'buildah':
      // docker format keeps HEALTHCHECK (OCI image config has no field for it).
      // The OCI labels also go as --label: buildah's layer cache can serve a
      // LABEL built from an ARG with the value of an earlier build (buildah
      // issue 5501; seen in test/images/build-images.test.ts).
      return [
        c.bin, 'bud', '--layers', '--format', 'docker', '--file', path.join(dir, 'Dockerfile'), '--tag', ref,
        ...buildArgs.flatMap((a) => ['--build-arg', a]), ...ociLabels(buildArgs).flatMap((l) => ['--label', l]), dir,
      ];
    case 'minikube':
      // Built inside the cluster's node: no registry and no `image load` needed.
      return [c.bin, 'image', 'build', '--profile', minikubeProfile, '--tag', ref, ...buildArgs.flatMap((a) => ['--build-opt', `build-arg=${a}`]), dir];
  }
}

/** org.opencontainers.image.* labels for the label build args (SOURCE=... -> ...source=...). */
function ociLabels(buildArgs: string[]): string[] {
  const keys: Record<string, string> = { SOURCE: 'source', REVISION: 'revision', VERSION: 'version', CREATED: 'created' };
  return buildArgs.flatMap((a) => {
    const [k, ...v] = a.split('=');
    return keys[k!] ? [`org.opencontainers.image.${keys[k!]}=${v.join('=')}`] : [];
  });
}

const shellQuote = (a: string) => (/^[\w@%+=:,./{}-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

function createdAt(): string {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined) {
    if (!/^\d+$/.test(epoch)) throw usageError(`SOURCE_DATE_EPOCH must be whole seconds, got "${epoch}"`);
    return new Date(Number(epoch) * 1000).toISOString().replace(/\.000Z$/, 'Z');
  }
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

await main({
  name: 'build-images',
  summary: 'build the frontend and backend images, tagged with the git short SHA',
  description: `Builder: --builder, else TODO_BUILDER, else minikube (image build into the node) when
TODO_TARGET=minikube and minikube is present, else docker when \`docker info\` answers, else buildah.
Images: <TODO_IMAGE_REGISTRY/>todo-chatbot-{frontend,backend}:<short sha>[-dirty]; -dirty when the
image folders have uncommitted changes. Sets the OCI label build args SOURCE, REVISION, VERSION and
CREATED (SOURCE_DATE_EPOCH makes CREATED reproducible). Prints the references, or with --output json
{images: {frontend, backend}, builder, tag} for deploy.`,
  local: true,
  mutates: true,
  options: {
    builder: { type: 'string', arg: 'auto|docker|minikube|buildah', help: 'image builder (default $TODO_BUILDER or auto)' },
    only: { type: 'string', arg: 'frontend|backend', help: 'build one image only' },
    tag: { type: 'string', arg: 'TAG', help: 'tag to use instead of the git short SHA' },
    'build-arg': { type: 'string', multiple: true, arg: 'KEY=VALUE', help: 'extra build arg, e.g. NODE_IMAGE=... (repeatable)' },
  },
  examples: [
    'npx zx scripts/build-images.ts',
    'npx zx scripts/build-images.ts --only backend --builder docker',
    'npx zx scripts/build-images.ts --dry-run --output json',
  ],
  async run(ctx) {
    const only = ctx.str('only');
    if (only !== undefined && !(only in imageDirs)) throw usageError(`--only must be frontend or backend, got "${only}"`);
    const names = (only ? [only] : Object.keys(imageDirs)) as ImageName[];
    const extraArgs = (ctx.values['build-arg'] as string[] | undefined) ?? [];
    for (const a of extraArgs) if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(a)) throw usageError(`--build-arg must be KEY=VALUE, got "${a}"`);

    const dirs = names.map((n) => path.join(repoRoot, imageDirs[n]));
    const state = await gitState(repoRoot, dirs);
    const tag = ctx.str('tag') ?? stateTag(state);
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw usageError(`--tag "${tag}" is not a valid image tag`);
    if (tag === 'latest') throw usageError('--tag latest is refused: tag by commit so deploys are traceable and caches never serve a stale image');

    const choice = await chooseBuilder(ctx);
    const registry = ctx.cfg.TODO_IMAGE_REGISTRY.replace(/\/+$/, '');
    const ref = (n: ImageName) => `${registry ? `${registry}/` : ''}todo-chatbot-${n}:${tag}`;
    const source = await sourceUrl(repoRoot);
    const labelArgs = [...(source ? [`SOURCE=${source}`] : []), `REVISION=${state.sha}${state.dirty ? '-dirty' : ''}`, `VERSION=${tag}`, `CREATED=${createdAt()}`];
    const profile = ctx.context || 'minikube';
    const commands = names.map((n, i) => buildCommand(choice, dirs[i]!, ref(n), [...labelArgs, ...extraArgs], profile));
    const images = Object.fromEntries(names.map((n) => [n, ref(n)])) as Partial<Record<ImageName, string>>;
    ctx.out.debug(`builder ${choice.builder} (${choice.why}), tag ${tag}`);

    if (ctx.dryRun) {
      if (ctx.json) ctx.out.json({ ok: true, dryRun: true, images, builder: choice.builder, tag, commands });
      else {
        ctx.out.say(`dry run: would build with ${choice.builder} (${choice.why}):`);
        for (const c of commands) ctx.out.say(`  ${c.map(shellQuote).join(' ')}`);
        for (const n of names) ctx.out.say(`${n.padEnd(8)}  ${images[n]}`);
      }
      return Exit.ok;
    }

    const seconds: Partial<Record<ImageName, number>> = {};
    for (const [i, n] of names.entries()) {
      const [bin, ...args] = commands[i]!;
      const t0 = Date.now();
      if (ctx.json) await ctx.out.progress(`building ${n} with ${choice.builder}`, () => run(bin!, args, { log: (m) => ctx.out.debug(m), timeout: '45m' }));
      else {
        ctx.out.say(`building ${images[n]} with ${choice.builder} ...`);
        await run(bin!, args, { stream: true, log: (m) => ctx.out.debug(m), timeout: '45m' });
      }
      seconds[n] = Math.round((Date.now() - t0) / 100) / 10;
    }
    if (ctx.json) ctx.out.json({ ok: true, images, builder: choice.builder, tag, seconds });
    else {
      ctx.out.say(`built with ${choice.builder}, tag ${tag}:`);
      for (const n of names) ctx.out.say(`${n.padEnd(8)}  ${images[n]}  (${seconds[n]} s)`);
    }
    return Exit.ok;
  },
});
