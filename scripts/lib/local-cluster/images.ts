// Images for the real node, with no registry: built with buildah (the images
// project's store and recipes), exported as OCI archives and imported into the
// node's containerd. Imports are cached by image ID: a warm up imports nothing.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { buildApp, buildah, ensurePostgresStandin, ensureStandins, exec, inspectImage } from './image-builds.ts';
import { binDir, nodeCacheDir, versions } from './layout.ts';

export const pauseRef = `localhost/todo-ops-pause:${versions.KUBE_VERSION}`;

export interface NodeImage {
  ref: string;
  /** what it is, for logs */
  what: string;
}

/** Which images the node gets: TODO_OPS_BED_IMAGES=all (default: pause, postgres, frontend, backend) or pause (sandboxes only). */
function wantedImages(): 'all' | 'pause' {
  const v = process.env.TODO_OPS_BED_IMAGES ?? 'all';
  if (v !== 'all' && v !== 'pause') throw new Error(`TODO_OPS_BED_IMAGES must be "all" or "pause", got "${v}"`);
  return v;
}

/** The pod sandbox image: the statically compiled pause binary (build-tools.sh) in an image of its own. */
async function ensurePause(): Promise<NodeImage> {
  const bin = fs.realpathSync(path.join(binDir, 'pause'));
  const key = createHash('sha256').update(fs.readFileSync(bin)).digest('hex').slice(0, 16);
  const have = await inspectImage(pauseRef);
  if (have?.labels['todo.standin.key'] !== key) {
    const ctr = (await buildah(['from', 'scratch'])).stdout.trim().split('\n').pop()!;
    try {
      await buildah(['copy', '--chmod', '0755', ctr, bin, '/pause']);
      await buildah([
        'config',
        '--entrypoint',
        '["/pause"]',
        '--user',
        '65535:65535',
        '--label',
        `todo.standin.key=${key}`,
        ctr,
      ]);
      await buildah(['commit', '--format', 'oci', ctr, pauseRef]);
    } finally {
      await buildah(['rm', ctr], { check: false });
    }
  }
  return { ref: pauseRef, what: 'pause (pod sandbox)' };
}

/**
 * Builds (cold) or finds (warm) every image the node needs, on this machine's
 * buildah store. The app images are the images project's own builds of the
 * repo's Dockerfiles (buildah --layers: a warm build reuses every layer).
 */
export async function ensureImages(log: (m: string) => void): Promise<NodeImage[]> {
  const out = [await ensurePause()];
  if (wantedImages() === 'pause') return out;
  const t0 = Date.now();
  const pg = await ensurePostgresStandin();
  if (pg.seconds > 0) log(`built the postgres stand-in ${pg.ref} in ${pg.seconds.toFixed(0)}s`);
  out.push({ ref: pg.ref, what: 'PostgreSQL stand-in' });
  const standins = await ensureStandins();
  const [frontend, backend] = await Promise.all([buildApp('frontend', standins), buildApp('backend', standins)]);
  out.push({ ref: frontend.ref, what: 'frontend' }, { ref: backend.ref, what: 'backend' });
  log(`images ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return out;
}

/** name:tag -> [name, tag] (the tag after the last colon that follows the last slash). */
function splitRef(ref: string): [string, string] {
  const i = ref.lastIndexOf(':');
  if (i < ref.lastIndexOf('/') || i < 0) return [ref, 'latest'];
  return [ref.slice(0, i), ref.slice(i + 1)];
}

const stampPath = () => path.join(nodeCacheDir, 'imported.json');

/**
 * Exports each image from buildah (oci-archive) and imports it into containerd's
 * k8s.io namespace, unless this image ID was imported already (and containerd
 * still has the name). Returns what it imported, with timings.
 */
export async function importImages(
  ctrAddress: string,
  images: NodeImage[],
  log: (m: string) => void,
): Promise<{ ref: string; seconds: number }[]> {
  fs.mkdirSync(nodeCacheDir, { recursive: true });
  let stamp: Record<string, string> = {};
  try {
    stamp = JSON.parse(fs.readFileSync(stampPath(), 'utf8')) as Record<string, string>;
  } catch {
    /* first import */
  }
  const ctr = (args: string[]) => exec('ctr', ['-a', ctrAddress, '-n', 'k8s.io', ...args]);
  const present = new Set((await ctr(['images', 'ls', '-q'])).stdout.split('\n').filter(Boolean));
  const done: { ref: string; seconds: number }[] = [];
  for (const img of images) {
    const info = await inspectImage(img.ref);
    if (!info) throw new Error(`image ${img.ref} (${img.what}) is not in the buildah store`);
    if (stamp[img.ref] === info.id && present.has(img.ref)) continue;
    const t0 = Date.now();
    const [name, tag] = splitRef(img.ref);
    const archive = path.join(nodeCacheDir, 'export.tar');
    fs.rmSync(archive, { force: true });
    try {
      await buildah(['push', '--quiet', img.ref, `oci-archive:${archive}:${tag}`], { timeoutMs: 600_000 });
      await ctr(['images', 'import', '--base-name', name, archive]);
    } finally {
      fs.rmSync(archive, { force: true });
    }
    if (!(await ctr(['images', 'ls', '-q'])).stdout.split('\n').includes(img.ref))
      throw new Error(`containerd did not list ${img.ref} after its import`);
    stamp[img.ref] = info.id;
    fs.writeFileSync(stampPath(), JSON.stringify(stamp, null, 2));
    const seconds = (Date.now() - t0) / 1000;
    done.push({ ref: img.ref, seconds });
    log(`imported ${img.what} ${img.ref} in ${seconds.toFixed(1)}s`);
  }
  return done;
}
