// debug --bundle: a support archive (tar.gz) of what someone else needs to
// help: the findings, the namespace's objects, its events, the logs of the
// failing containers (previous ones included), helm values and history.
// Every secret value is redacted: Secrets carry keys and sizes only, helm
// values under secret-looking keys are replaced, and every file passes through
// the output scrubber, which knows every Secret value read and every
// configured secret (also in base64 and URL-encoded forms).
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import YAML from 'yaml';
import { scrub } from '../lib/kit/output.ts';

export interface BundleFile {
  path: string;
  content: string;
}

/** A ustar header for one regular file (names up to 100 bytes, or 155 + 100 with a prefix). */
function header(name: string, size: number, mtime: number): Buffer {
  const h = Buffer.alloc(512);
  let prefix = '';
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`path too long for the archive: ${name}`);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  const put = (s: string, off: number, len: number) => h.write(s, off, len, 'utf8');
  put(base, 0, 100);
  put('0000644\0', 100, 8);
  put('0000000\0', 108, 8);
  put('0000000\0', 116, 8);
  put(size.toString(8).padStart(11, '0') + '\0', 124, 12);
  put(Math.floor(mtime / 1000).toString(8).padStart(11, '0') + '\0', 136, 12);
  put('        ', 148, 8);
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put('todo-ops', 265, 32);
  put('todo-ops', 297, 32);
  put(prefix, 345, 155);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

/** A gzipped tar of the files, each under `root/`. */
export function tarGz(root: string, files: readonly BundleFile[], mtime = Date.now()): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    const body = Buffer.from(f.content, 'utf8');
    parts.push(header(`${root}/${f.path}`, body.length, mtime), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts));
}

/** YAML documents; through JSON first, so the client's Date objects become the API's timestamps. */
export const yaml = (docs: readonly unknown[]) => docs.map((d) => YAML.stringify(JSON.parse(JSON.stringify(d ?? null)), { lineWidth: 0 })).join('---\n');

/** Writes the archive (mode 0600: it describes the cluster) after scrubbing every file; returns its size. */
export function writeBundle(file: string, root: string, files: readonly BundleFile[]): { bytes: number; files: number } {
  const clean = files.map((f) => ({ path: f.path, content: scrub(f.content) }));
  const buf = tarGz(root, clean);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, buf, { mode: 0o600 });
  return { bytes: buf.length, files: clean.length };
}
