// debug --bundle: a support archive (tar.gz) of what someone else needs to
// help: the findings, the namespace's objects, its events, the logs of the
// failing containers (previous ones included), helm values and history.
// Every secret value is redacted: Secrets carry keys and sizes only, helm
// values under secret-looking keys are replaced, and every file passes through
// the output scrubber, which knows every Secret value read and every
// configured secret (also in base64 and URL-encoded forms).
import fs from 'node:fs';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import YAML from 'yaml';
import { scrub } from '../lib/kit/output.ts';

export interface BundleFile {
  path: string;
  content: string;
}

/**
 * A gzipped tar of the files, each under `root/`, all stamped with one mtime. tar-stream writes a
 * pax header for a path ustar cannot hold (pod names alone may be 253 characters).
 */
export async function tarGz(root: string, files: readonly BundleFile[], mtime = new Date()): Promise<Buffer> {
  const pack = tar.pack();
  for (const f of files)
    pack.entry(
      { name: `${root}/${f.path}`, type: 'file', mode: 0o644, mtime, uname: 'todo-ops', gname: 'todo-ops' },
      f.content,
    );
  pack.finalize();
  return gzipSync(await buffer(pack));
}

/** YAML documents; through JSON first, so the client's Date objects become the API's timestamps. */
export const yaml = (docs: readonly unknown[]) =>
  docs.map((d) => YAML.stringify(JSON.parse(JSON.stringify(d ?? null)), { lineWidth: 0 })).join('---\n');

/** Writes the archive (mode 0600: it describes the cluster) after scrubbing every file; returns its size. */
export async function writeBundle(
  file: string,
  root: string,
  files: readonly BundleFile[],
): Promise<{ bytes: number; files: number }> {
  const clean = files.map((f) => ({ path: f.path, content: scrub(f.content) }));
  const buf = await tarGz(root, clean);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, buf, { mode: 0o600 });
  return { bytes: buf.length, files: clean.length };
}
