// kagent's agent runtime image for the real node: what kagent's controller runs
// for each Declarative Agent (`{IMAGE_REGISTRY}/{IMAGE_REPOSITORY}:{IMAGE_TAG}`,
// args `--host 0.0.0.0 --port 8080 --filepath /config`, so the entrypoint is
// `kagent-adk static`). Built FROM the project's Python stand-in with buildah
// and cached by the hash of its inputs (the stand-in's image ID, the vendored pip
// constraints, this recipe): a warm run builds nothing. Imported into the node
// only when kagent is wanted (kagent.ts).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildah, containersEnv, ensureStandins, exec, inspectImage } from './image-builds.ts';
import { cacheRoot } from './layout.ts';

export const kagentVersion = '0.9.12';
/** The controller's defaults with IMAGE_REGISTRY=localhost: the node has no registry, the image is imported. */
export const kagentImage = { registry: 'localhost', repository: 'kagent-dev/kagent/app', tag: kagentVersion } as const;
const kagentImageRef = `${kagentImage.registry}/${kagentImage.repository}:${kagentImage.tag}`;

// anyio comes from the vendored constraints (4.14.2): kagent's own lock has
// 4.14.0, whose cancel-scope loop spins a core for good after the first MCP tool call.
const containerfile = `ARG PYTHON_IMAGE
FROM \${PYTHON_IMAGE}
ARG KAGENT_ADK_VERSION
COPY constraints.txt /tmp/kagent-constraints.txt
RUN python -m venv /opt/kagent \\
 && /opt/kagent/bin/pip install --no-cache-dir --disable-pip-version-check \\
      -c /tmp/kagent-constraints.txt "kagent-adk==\${KAGENT_ADK_VERSION}" \\
 && rm -rf /tmp/kagent-constraints.txt /root/.cache \\
 && useradd --uid 10001 --user-group --create-home --home-dir /home/kagent kagent
ENV PATH=/opt/kagent/bin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    HOME=/home/kagent \\
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /home/kagent
ENTRYPOINT ["kagent-adk", "static"]
`;

/** ../shared/vendor/<name> beside the checkout (or beside the main checkout of a git worktree); TODO_OPS_VENDOR_DIR wins. */
export function vendorDir(name: string): string | undefined {
  const repo = path.resolve(import.meta.dirname, '../../..');
  const cands = [process.env.TODO_OPS_VENDOR_DIR, path.resolve(repo, '../shared/vendor')];
  for (let dir = repo; path.dirname(dir) !== dir; dir = path.dirname(dir))
    cands.push(path.join(path.dirname(dir), 'shared', 'vendor'));
  for (const c of cands) if (c && fs.existsSync(path.join(c, name))) return path.join(c, name);
  return undefined;
}

function constraintsFile(): string {
  const dir = vendorDir(`kagent-v${kagentVersion}`);
  const f = dir && path.join(dir, 'python', 'constraints.txt');
  if (!f || !fs.existsSync(f))
    throw new Error(
      `no kagent-v${kagentVersion}/python/constraints.txt under ../shared/vendor (set TODO_OPS_VENDOR_DIR)`,
    );
  return f;
}

/** Builds (cold) or finds (warm) the agent runtime image in the buildah store. */
export async function ensureKagentImage(
  log: (m: string) => void = () => undefined,
): Promise<{ ref: string; seconds: number }> {
  const standins = await ensureStandins();
  const python = await inspectImage(standins.python);
  if (!python) throw new Error(`the python stand-in ${standins.python} is missing`);
  const constraints = fs.readFileSync(constraintsFile(), 'utf8');
  const key = createHash('sha256')
    .update([kagentVersion, python.id, constraints, containerfile].join('\0'))
    .digest('hex')
    .slice(0, 16);
  const old = await inspectImage(kagentImageRef);
  if (old?.labels['todo.standin.key'] === key) return { ref: kagentImageRef, seconds: 0 };
  log(`building the kagent agent runtime image ${kagentImageRef} (pip install kagent-adk==${kagentVersion})`);
  const t0 = Date.now();
  const ctx = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-kagent-image-'));
  try {
    fs.writeFileSync(path.join(ctx, 'Containerfile'), containerfile);
    fs.writeFileSync(path.join(ctx, 'constraints.txt'), constraints);
    const logFile = path.join(cacheRoot, 'images', 'logs', 'build-kagent-adk.log');
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    fs.writeFileSync(logFile, '');
    // A plain `buildah bud` with the images project's store and RUN mounts (CA bundle, pip.conf).
    await exec(
      'buildah',
      [
        'bud',
        '--pull=never',
        '--layers=false',
        '--isolation',
        'chroot',
        '--network',
        'host',
        '--format',
        'docker',
        '--build-arg',
        `PYTHON_IMAGE=${standins.python}`,
        '--build-arg',
        `KAGENT_ADK_VERSION=${kagentVersion}`,
        '--label',
        `todo.standin.key=${key}`,
        '-f',
        path.join(ctx, 'Containerfile'),
        '-t',
        kagentImageRef,
        ctx,
      ],
      { env: { ...process.env, ...containersEnv() }, log: logFile, timeoutMs: 1_200_000 },
    );
  } finally {
    fs.rmSync(ctx, { recursive: true, force: true });
  }
  // The replaced image goes: the store stays bounded.
  if (old) await buildah(['rmi', '--force', old.id], { check: false });
  const seconds = (Date.now() - t0) / 1000;
  log(`built ${kagentImageRef} in ${seconds.toFixed(0)}s`);
  return { ref: kagentImageRef, seconds };
}
