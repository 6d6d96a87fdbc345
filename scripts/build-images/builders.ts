// build-images' decisions: which builder, and the exact command line for each
// image. Kept apart from the entry file so the tests import them directly.
import path from 'node:path';
import { $ } from 'zx';
import { Exit, OpsError, usageError } from '../lib/kit/errors.ts';
import { detect, requireTool, type ToolInfo } from '../lib/kit/tools.ts';

export const imageDirs = { frontend: 'frontend-docker', backend: 'backend-docker' } as const;
export type ImageName = keyof typeof imageDirs;
export type Builder = 'docker' | 'minikube' | 'buildah';
export const builders: Builder[] = ['docker', 'minikube', 'buildah'];

export interface Choice {
  builder: Builder;
  bin: string;
  why: string;
}

async function dockerDaemonUp(bin: string): Promise<boolean> {
  const r = await $({ quiet: true, nothrow: true, timeout: '20s' })`${bin} info --format ${'{{.ServerVersion}}'}`;
  return r.exitCode === 0;
}

export interface BuilderWish {
  /** --builder */
  flag?: string;
  /** TODO_BUILDER */
  setting: string;
  target: 'minikube' | 'cluster';
  warn: (msg: string) => void;
}

/** --builder, else TODO_BUILDER, else: minikube for a minikube target, docker with a daemon, buildah. */
export async function chooseBuilder(w: BuilderWish): Promise<Choice> {
  const wanted = w.flag ?? w.setting;
  if (wanted !== 'auto') {
    if (!builders.includes(wanted as Builder))
      throw usageError(`--builder must be one of auto, ${builders.join(', ')}, got "${wanted}"`);
    const info = await requireTool(wanted as Builder);
    return { builder: wanted as Builder, bin: info.name, why: w.flag ? '--builder' : 'TODO_BUILDER' };
  }
  const [minikube, docker, buildah] = await Promise.all([detect('minikube'), detect('docker'), detect('buildah')]);
  if (w.target === 'minikube') {
    if (minikube.ok) return { builder: 'minikube', bin: 'minikube', why: 'TODO_TARGET=minikube' };
    w.warn(
      `TODO_TARGET=minikube but minikube is unusable (${minikube.problem}): building locally, the cluster will not see these images until loaded`,
    );
  }
  const dockerUp = docker.ok && (await dockerDaemonUp(docker.path!));
  if (dockerUp) return { builder: 'docker', bin: 'docker', why: '`docker info` answers' };
  if (buildah.ok)
    return { builder: 'buildah', bin: 'buildah', why: docker.ok ? 'docker daemon unreachable' : 'no docker' };
  const state = (t: ToolInfo) => `${t.name} ${t.ok ? 'present' : t.problem}`;
  const dockerState = docker.ok ? 'docker present but its daemon is unreachable (docker info failed)' : state(docker);
  throw new OpsError(
    `no image builder: ${[dockerState, state(buildah), ...(w.target === 'minikube' ? [state(minikube)] : [])].join('; ')}`,
    Exit.usage,
    'install docker (and start it), buildah, or minikube for the minikube target; --builder picks one',
  );
}

/** The exact argv for one image. Build args are the OCI labels' values plus the user's. */
export function buildCommand(
  c: Pick<Choice, 'builder' | 'bin'>,
  dir: string,
  ref: string,
  buildArgs: string[],
  minikubeProfile: string,
): string[] {
  switch (c.builder) {
    case 'docker':
      return [
        c.bin,
        'build',
        '--file',
        path.join(dir, 'Dockerfile'),
        '--tag',
        ref,
        ...buildArgs.flatMap((a) => ['--build-arg', a]),
        dir,
      ];
    case 'buildah':
      // docker format keeps HEALTHCHECK (OCI image config has no field for it).
      // The OCI labels also go as --label: buildah's layer cache can serve a
      // LABEL built from an ARG with the value of an earlier build (buildah
      // issue 5501; seen in test/images/build-images.test.ts).
      return [
        c.bin,
        'bud',
        '--layers',
        '--format',
        'docker',
        '--file',
        path.join(dir, 'Dockerfile'),
        '--tag',
        ref,
        ...buildArgs.flatMap((a) => ['--build-arg', a]),
        ...ociLabels(buildArgs).flatMap((l) => ['--label', l]),
        dir,
      ];
    case 'minikube':
      // Built inside the cluster's node: no registry and no `image load` needed.
      return [
        c.bin,
        'image',
        'build',
        '--profile',
        minikubeProfile,
        '--tag',
        ref,
        ...buildArgs.flatMap((a) => ['--build-opt', `build-arg=${a}`]),
        dir,
      ];
  }
}

/** org.opencontainers.image.* labels for the label build args (SOURCE=... -> ...source=...). */
export function ociLabels(buildArgs: string[]): string[] {
  const keys: Record<string, string> = {
    SOURCE: 'source',
    REVISION: 'revision',
    VERSION: 'version',
    CREATED: 'created',
  };
  return buildArgs.flatMap((a) => {
    const [k, ...v] = a.split('=');
    return keys[k!] ? [`org.opencontainers.image.${keys[k!]}=${v.join('=')}`] : [];
  });
}

export function createdAt(): string {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined) {
    if (!/^\d+$/.test(epoch)) throw usageError(`SOURCE_DATE_EPOCH must be whole seconds, got "${epoch}"`);
    return new Date(Number(epoch) * 1000).toISOString().replace(/\.000Z$/, 'Z');
  }
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}
