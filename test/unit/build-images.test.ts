// scripts/build-images.ts against stand-in `docker`, `minikube` and `buildah`
// executables (test/fixtures/bin-standins): each logs its argv as a JSON line,
// so the tests assert the exact command lines and that a dry run builds nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  assertFailure,
  assertOutput,
  assertSuccess,
  refuteOutput,
  repoRoot,
  run,
  scratchEnv,
  type RunResult,
} from '../helpers/run.ts';

type Tool = 'docker' | 'minikube' | 'buildah';
const standins = path.join(repoRoot, 'test/fixtures/bin-standins');
const script = 'scripts/build-images.ts';
const fe = path.join(repoRoot, 'frontend-docker');
const be = path.join(repoRoot, 'backend-docker');

interface Bed {
  env: NodeJS.ProcessEnv;
  /** every stand-in call so far, argv with the tool's name first */
  calls(): string[][];
  /** the calls that build something (not the version/info probes) */
  builds(): string[][];
}

/**
 * A PATH holding only git, bash, node and the given stand-ins: the machine's
 * real docker client or buildah can never be picked up.
 */
function bed(tools: Tool[], extra: NodeJS.ProcessEnv = {}): Bed {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'build-images-'));
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  for (const t of ['git', 'bash', 'node']) {
    const real = process.env
      .PATH!.split(':')
      .map((d) => path.join(d, t))
      .find((p) => fs.existsSync(p));
    if (!real) throw new Error(`${t} not on PATH`);
    fs.symlinkSync(real, path.join(bin, t));
  }
  for (const t of tools) fs.symlinkSync(path.join(standins, t), path.join(bin, t));
  const log = path.join(dir, 'calls.jsonl');
  const env = {
    ...scratchEnv(),
    PATH: bin,
    STANDIN_LOG: log,
    SOURCE_DATE_EPOCH: '0',
    STANDIN_FAIL: '',
    TODO_BUILDER: undefined,
    TODO_IMAGE_REGISTRY: undefined,
    // A known origin, with credentials that must never reach an image label.
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'remote.origin.url',
    GIT_CONFIG_VALUE_0: 'https://ci-bot:s3cret-token@git.example.com/org/todo-chatbot.git',
    ...extra,
  };
  const calls = () =>
    fs.existsSync(log)
      ? fs
          .readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as string[])
      : [];
  const probe = (c: string[]) => c[1] === 'version' || c[1] === '--version' || c[1] === 'info';
  return { env, calls, builds: () => calls().filter((c) => !probe(c)) };
}

const created = 'CREATED=1970-01-01T00:00:00Z';
/** REVISION is the commit (+ -dirty): other engineers commit while tests run, so match its shape. */
const revision = expect.stringMatching(/^REVISION=[0-9a-f]{40}(-dirty)?$/);
const source = 'SOURCE=https://git.example.com/org/todo-chatbot';
const labelArgs = (flag: string, tag: string, wrap = (a: unknown) => a) => [
  flag,
  wrap(source),
  flag,
  wrap(revision),
  flag,
  wrap(`VERSION=${tag}`),
  flag,
  wrap(created),
];

const dockerCmd = (dir: string, ref: string, tag: string, extra: string[] = []) => [
  'docker',
  'build',
  '--file',
  path.join(dir, 'Dockerfile'),
  '--tag',
  ref,
  ...labelArgs('--build-arg', tag),
  ...extra,
  dir,
];
// buildah also gets the OCI labels as --label (its layer cache can keep a stale ARG-built LABEL).
const ociLabel = (a: unknown) =>
  typeof a === 'string'
    ? a.replace(/^(SOURCE|VERSION|CREATED)=/, (_m, k: string) => `org.opencontainers.image.${k.toLowerCase()}=`)
    : expect.stringMatching(/^org\.opencontainers\.image\.revision=[0-9a-f]{40}(-dirty)?$/);
const buildahCmd = (dir: string, ref: string, tag: string) => [
  'buildah',
  'bud',
  '--layers',
  '--format',
  'docker',
  '--file',
  path.join(dir, 'Dockerfile'),
  '--tag',
  ref,
  ...labelArgs('--build-arg', tag),
  ...labelArgs('--label', tag, ociLabel),
  dir,
];
const minikubeArg = (a: unknown) =>
  typeof a === 'string' ? `build-arg=${a}` : expect.stringMatching(/^build-arg=REVISION=[0-9a-f]{40}(-dirty)?$/);
const minikubeCmd = (dir: string, ref: string, tag: string, profile = 'minikube') => [
  'minikube',
  'image',
  'build',
  '--profile',
  profile,
  '--tag',
  ref,
  ...labelArgs('--build-opt', tag, minikubeArg),
  dir,
];

interface Doc {
  ok: boolean;
  exitCode: number;
  dryRun: boolean;
  data: { images: Record<string, string>; builder: string; tag: string; commands?: string[][] };
  actions: { what: string; target: string; status: string; detail?: string }[];
  error?: { message: string };
}
/** The result envelope, with its data and error message lifted for short assertions. */
const json = (r: RunResult) => {
  const d = r.json<Doc>();
  return { ...d, ...d.data, error: d.error?.message };
};

describe('build-images: choosing the builder', () => {
  it('minikube target with minikube present: minikube image build into the node, both images', async () => {
    const b = bed(['minikube', 'docker'], { TODO_PROFILE: 'minikube' });
    const r = await run(script, ['--tag', 't1', '-o', 'json'], { env: b.env });
    assertSuccess(r);
    expect(json(r)).toMatchObject({
      ok: true,
      builder: 'minikube',
      tag: 't1',
      images: { frontend: 'todo-chatbot-frontend:t1', backend: 'todo-chatbot-backend:t1' },
    });
    expect(b.builds()).toEqual([
      minikubeCmd(fe, 'todo-chatbot-frontend:t1', 't1'),
      minikubeCmd(be, 'todo-chatbot-backend:t1', 't1'),
    ]);
  });

  it('cluster target with a docker daemon: docker build, with the registry prefix', async () => {
    const b = bed(['docker', 'buildah'], { TODO_IMAGE_REGISTRY: 'registry.example.com/team/' });
    const r = await run(script, ['--tag', 't2', '-o', 'json'], { env: b.env });
    assertSuccess(r);
    const refs = {
      frontend: 'registry.example.com/team/todo-chatbot-frontend:t2',
      backend: 'registry.example.com/team/todo-chatbot-backend:t2',
    };
    expect(json(r)).toMatchObject({ builder: 'docker', images: refs });
    expect(b.calls()).toContainEqual(['docker', 'info', '--format', '{{.ServerVersion}}']);
    expect(b.builds()).toEqual([dockerCmd(fe, refs.frontend, 't2'), dockerCmd(be, refs.backend, 't2')]);
  });

  it('docker client without a daemon: falls back to buildah', async () => {
    const b = bed(['docker', 'buildah'], { STANDIN_FAIL: 'docker info' });
    const r = await run(script, ['--tag', 't3', '--only', 'backend', '-o', 'json'], { env: b.env });
    assertSuccess(r);
    expect(json(r)).toMatchObject({ builder: 'buildah', images: { backend: 'todo-chatbot-backend:t3' } });
    expect(b.builds()).toEqual([buildahCmd(be, 'todo-chatbot-backend:t3', 't3')]);
  });

  it('minikube target without minikube: warns, then builds with docker', async () => {
    const b = bed(['docker'], { TODO_PROFILE: 'minikube' });
    const r = await run(script, ['--tag', 't4', '--only', 'frontend'], { env: b.env });
    assertSuccess(r);
    assertOutput(r, /warning: TODO_TARGET=minikube but minikube is unusable \(not found on PATH\)/);
    expect(b.builds()).toEqual([dockerCmd(fe, 'todo-chatbot-frontend:t4', 't4')]);
  });

  it('--builder overrides the target, TODO_BUILDER the automatic choice', async () => {
    const b = bed(['minikube', 'docker', 'buildah'], { TODO_PROFILE: 'minikube' });
    assertSuccess(await run(script, ['--tag', 't5', '--only', 'backend', '--builder', 'docker'], { env: b.env }));
    expect(b.builds()).toEqual([dockerCmd(be, 'todo-chatbot-backend:t5', 't5')]);

    const c = bed(['docker', 'buildah'], { TODO_BUILDER: 'buildah' });
    assertSuccess(await run(script, ['--tag', 't5', '--only', 'backend'], { env: c.env }));
    expect(c.builds()).toEqual([buildahCmd(be, 'todo-chatbot-backend:t5', 't5')]);
  });

  it('no builder at all: a one-line error, exit 2, nothing run', async () => {
    const b = bed([]);
    const r = await run(script, [], { env: b.env });
    assertFailure(r, 2);
    expect(r.stderr.split('\n')[0]).toBe(
      'build-images: no image builder: docker not found on PATH; buildah not found on PATH',
    );
    assertOutput(r, /^hint: install docker/m);
    expect(b.calls()).toEqual([]);
  });

  it('a docker client whose daemon is down and no buildah: exit 2 says so', async () => {
    const b = bed(['docker'], { STANDIN_FAIL: 'docker info' });
    const r = await run(script, ['-o', 'json'], { env: b.env });
    assertFailure(r, 2);
    expect(json(r)).toMatchObject({
      ok: false,
      error: expect.stringContaining('docker present but its daemon is unreachable'),
    });
    expect(b.builds()).toEqual([]);
  });

  it('an explicit builder that is missing: exit 2 with the install hint', async () => {
    const b = bed(['docker']);
    const r = await run(script, ['--builder', 'buildah'], { env: b.env });
    assertFailure(r, 2);
    assertOutput(r, 'build-images: buildah: not found on PATH');
    assertOutput(r, 'hint: install: apt-get install buildah');
  });
});

describe('build-images: tags, flags and results', () => {
  it('--dry-run prints the exact commands a real run executes, and builds nothing', async () => {
    const b = bed(['docker']);
    const dry = await run(script, ['--dry-run', '--tag', 'd1', '-o', 'json'], { env: b.env });
    assertSuccess(dry);
    expect(b.builds()).toEqual([]);
    const planned = json(dry).commands!;
    expect(json(dry)).toMatchObject({ dryRun: true, builder: 'docker', tag: 'd1' });
    const real = await run(script, ['--tag', 'd1'], { env: b.env });
    assertSuccess(real);
    expect(b.builds()).toEqual(planned);

    const text = await run(script, ['--dry-run', '--tag', 'd1'], { env: b.env });
    assertSuccess(text);
    assertOutput(
      text,
      `  docker build --file ${fe}/Dockerfile --tag todo-chatbot-frontend:d1 --build-arg ${source} --build-arg REVISION=`,
    );
    refuteOutput(text, 's3cret');
    assertOutput(text, /^frontend {2}todo-chatbot-frontend:d1$/m);
    expect(b.builds()).toHaveLength(2); // still only the real run's two builds
  });

  it('tags with the git short SHA (+ -dirty), never latest', async () => {
    const b = bed(['docker']);
    const r = await run(script, ['--dry-run', '-o', 'json'], { env: b.env });
    assertSuccess(r);
    const doc = json(r);
    expect(doc.tag).toMatch(/^[0-9a-f]{7,40}(-dirty)?$/);
    const revisionArg = doc.commands![0]!.find((a) => a.startsWith('REVISION='))!;
    expect(revisionArg.slice('REVISION='.length)).toMatch(
      new RegExp(`^${doc.tag.replace('-dirty', '')}[0-9a-f]*${doc.tag.endsWith('-dirty') ? '-dirty' : ''}$`),
    );
    expect(doc.images.frontend).toBe(`todo-chatbot-frontend:${doc.tag}`);

    const latest = await run(script, ['--tag', 'latest'], { env: b.env });
    assertFailure(latest, 2);
    assertOutput(latest, '--tag latest is refused');
  });

  it('--build-arg is passed through; bad values of the flags are usage errors', async () => {
    const b = bed(['docker']);
    assertSuccess(
      await run(script, ['--tag', 'a1', '--only', 'frontend', '--build-arg', 'NODE_IMAGE=node:24.21.0-bookworm-slim'], {
        env: b.env,
      }),
    );
    expect(b.builds()).toEqual([
      dockerCmd(fe, 'todo-chatbot-frontend:a1', 'a1', ['--build-arg', 'NODE_IMAGE=node:24.21.0-bookworm-slim']),
    ]);
    for (const [args, message] of [
      [['--only', 'database'], '--only must be one of frontend, backend, got "database"'],
      [['--builder', 'podman'], '--builder must be one of auto, docker, minikube, buildah, got "podman"'],
      [['--build-arg', 'no-equals'], '--build-arg must be KEY=VALUE, got "no-equals"'],
      [['--tag', 'bad tag'], '--tag "bad tag" is not a valid image tag'],
    ] as const) {
      const r = await run(script, [...args], { env: b.env });
      assertFailure(r, 2);
      assertOutput(r, message);
    }
    expect(b.builds()).toHaveLength(1);
  });

  it("a failed build exits 4 with the builder's last error line and no image references", async () => {
    const b = bed(['docker'], { STANDIN_FAIL: 'docker build' });
    const r = await run(script, ['--tag', 'f1', '-o', 'json'], { env: b.env });
    assertFailure(r, 4);
    expect(json(r)).toMatchObject({ ok: false, exitCode: 4 });
    expect(json(r).actions.map((a) => [a.status, a.detail])).toEqual([
      ['failed', 'docker build failed (exit 1): ERROR: docker build failed (stand-in)'],
      ['skipped', 'an earlier action failed'],
    ]);
    expect(b.builds()).toHaveLength(1); // stops at the first failure
  });

  it('text output names each image reference', async () => {
    const b = bed(['docker']);
    const r = await run(script, ['--tag', 'x1'], { env: b.env });
    assertSuccess(r);
    assertOutput(r, /^built with docker, tag x1:$/m);
    assertOutput(r, /^frontend {2}todo-chatbot-frontend:x1 {2}\(/m);
    assertOutput(r, /^backend {3}todo-chatbot-backend:x1 {2}\(/m);
    refuteOutput(r, 'latest');
  });
});

describe('build-images: the decisions, in-process', () => {
  it('buildCommand gives each builder its own exact argv; OCI labels mirror the label build args', async () => {
    const { buildCommand, ociLabels } = await import('../../scripts/build-images/builders.ts');
    const args = ['REVISION=abc1234', 'VERSION=abc1234', 'NODE_IMAGE=node:24'];
    expect(ociLabels(args)).toEqual([
      'org.opencontainers.image.revision=abc1234',
      'org.opencontainers.image.version=abc1234',
    ]);
    expect(buildCommand({ builder: 'minikube', bin: 'minikube' }, '/src/be', 'b:t', args, 'dev')).toEqual([
      'minikube',
      'image',
      'build',
      '--profile',
      'dev',
      '--tag',
      'b:t',
      '--build-opt',
      'build-arg=REVISION=abc1234',
      '--build-opt',
      'build-arg=VERSION=abc1234',
      '--build-opt',
      'build-arg=NODE_IMAGE=node:24',
      '/src/be',
    ]);
    expect(buildCommand({ builder: 'buildah', bin: 'buildah' }, '/src/be', 'b:t', args, 'dev')).toContain('--label');
  });
  it('chooseBuilder: an unknown TODO_BUILDER is a usage error naming the choices', async () => {
    const { chooseBuilder } = await import('../../scripts/build-images/builders.ts');
    await expect(chooseBuilder({ setting: 'kaniko', target: 'cluster', warn: () => undefined })).rejects.toThrow(
      '--builder must be one of auto, docker, minikube, buildah, got "kaniko"',
    );
  });
});
