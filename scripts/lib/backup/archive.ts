// The backup archive: one directory per run holding its parts and a manifest
// with every part's size and SHA-256. Written under a hidden temporary name and
// renamed into place only when complete, so a failed or interrupted backup
// never leaves something that looks like an archive. A manifest carries a
// checksum of itself: an edited manifest is refused like a damaged part.
//
//   <dest>/<release>-<UTC stamp>/manifest.json
//                               release.json     values and history (no secrets)
//                               objects.json     the namespace's objects, cleaned, Secrets left out
//                               secrets.enc      Secrets and helm's release records, encrypted (--include-secrets)
//                               db.dump          pg_dump custom format
import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Exit, OpsError, usageError } from '../kit/errors.ts';

const FORMAT = 'todo-chatbot-backup/1';

interface Part {
  name: string;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: typeof FORMAT;
  createdAt: string;
  context: string;
  namespace: string;
  release: string;
  /** the deployed helm revision when the backup was taken */
  revision: number | null;
  chart: string | null;
  /** object counts per kind, Secrets included (restored from secrets.enc or required in the target), helm's records not */
  objects: Record<string, number>;
  /** helm's release records (Secrets of type helm.sh/release.v1), kept in secrets.enc */
  releaseRecords: number;
  secrets: { mode: 'excluded' | 'encrypted'; names: { name: string; keys: string[] }[] };
  database: {
    source: 'in-cluster' | 'external';
    /** how pg_dump ran: exec in the PostgreSQL pod, or a short-lived pod */
    via: string;
    /** rows per table, counted in the dump's own snapshot */
    tables: Record<string, number>;
    serverVersion?: string;
  } | null;
  parts: Part[];
  /** SHA-256 of this manifest's JSON with checksum set to "" */
  checksum: string;
}

export const manifestChecksum = (m: Manifest): string =>
  createHash('sha256')
    .update(JSON.stringify({ ...m, checksum: '' }))
    .digest('hex');

/** A file's size and SHA-256, read in chunks (archives can be large). */
async function hashFile(file: string): Promise<{ bytes: number; sha256: string }> {
  const h = createHash('sha256');
  let bytes = 0;
  await pipeline(fs.createReadStream(file), async function (src: AsyncIterable<Buffer>) {
    for await (const chunk of src) {
      h.update(chunk);
      bytes += chunk.length;
    }
  });
  return { bytes, sha256: h.digest('hex') };
}

/** UTC, sortable, file-name safe, to the millisecond: 20261127T141533.123Z */
const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '');

export const archiveName = (release: string, at: Date) => `${release}-${stamp(at)}`;

/** A directory being written: parts go in, finish() checksums them and renames the directory into place. */
export class ArchiveWriter {
  readonly dest: string;
  readonly tmp: string;
  readonly final: string;
  constructor(dest: string, name: string) {
    this.dest = dest;
    this.final = path.join(dest, name);
    this.tmp = path.join(dest, `.partial-${name}-${process.pid}`);
    fs.mkdirSync(this.tmp, { recursive: true, mode: 0o700 });
  }
  file(part: string): string {
    return path.join(this.tmp, part);
  }
  write(part: string, data: string | Buffer): void {
    fs.writeFileSync(this.file(part), data, { mode: 0o600 });
  }
  /** Checksums every part, writes the manifest, fsyncs, and renames into place. */
  async finish(
    m: Omit<Manifest, 'parts' | 'checksum' | 'format'>,
  ): Promise<{ dir: string; manifest: Manifest; bytes: number }> {
    const parts: Part[] = [];
    for (const name of fs.readdirSync(this.tmp).sort()) parts.push({ name, ...(await hashFile(this.file(name))) });
    const manifest: Manifest = { format: FORMAT, ...m, parts, checksum: '' };
    manifest.checksum = manifestChecksum(manifest);
    this.write('manifest.json', JSON.stringify(manifest, null, 2) + '\n');
    for (const name of fs.readdirSync(this.tmp)) fsyncPath(this.file(name));
    fsyncPath(this.tmp);
    fs.renameSync(this.tmp, this.final);
    fsyncPath(this.dest);
    return {
      dir: this.final,
      manifest,
      bytes: parts.reduce((n, p) => n + p.bytes, 0) + fs.statSync(path.join(this.final, 'manifest.json')).size,
    };
  }
  discard(): void {
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Removes what killed runs left (.partial-<name>-<pid> whose process is gone); returns their names. */
export function removeStalePartials(dest: string): string[] {
  if (!fs.existsSync(dest)) return [];
  const stale = fs.readdirSync(dest).filter((f) => {
    const pid = Number(/^\.partial-.*-(\d+)$/.exec(f)?.[1]);
    if (!pid || pid === process.pid) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ESRCH';
    }
  });
  for (const f of stale) fs.rmSync(path.join(dest, f), { recursive: true, force: true });
  return stale;
}

export interface CheckProblem {
  part: string;
  problem: string;
}

/** Reads and checks the manifest alone: present, parseable, our format, its own checksum right. */
export function readManifest(dir: string): Manifest {
  const file = path.join(dir, 'manifest.json');
  if (!fs.existsSync(dir)) throw usageError(`no archive at ${dir}`);
  if (!fs.existsSync(file)) throw new OpsError(`${dir} has no manifest.json: not a complete archive`, Exit.problem);
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  } catch {
    throw new OpsError(`${file} is not valid JSON: the archive is damaged`, Exit.problem);
  }
  if (m.format !== FORMAT)
    throw new OpsError(`${file}: format ${JSON.stringify(m.format)}, expected ${FORMAT}`, Exit.problem);
  if (m.checksum !== manifestChecksum(m))
    throw new OpsError(
      `${file} was changed after the backup: its own checksum does not match`,
      Exit.problem,
      'the archive cannot be trusted; restore another one',
    );
  return m;
}

/** Every part of the manifest present with its size and checksum, and no part the manifest does not name. */
export async function checkParts(dir: string, m: Manifest): Promise<CheckProblem[]> {
  const problems: CheckProblem[] = [];
  for (const p of m.parts) {
    const file = path.join(dir, p.name);
    if (!fs.existsSync(file)) {
      problems.push({ part: p.name, problem: 'missing' });
      continue;
    }
    const got = await hashFile(file);
    if (got.bytes !== p.bytes)
      problems.push({
        part: p.name,
        problem: `${got.bytes} bytes, the manifest says ${p.bytes} (truncated or changed)`,
      });
    else if (got.sha256 !== p.sha256)
      problems.push({
        part: p.name,
        problem: `SHA-256 ${got.sha256.slice(0, 12)}…, the manifest says ${p.sha256.slice(0, 12)}…`,
      });
  }
  const named = new Set([...m.parts.map((p) => p.name), 'manifest.json']);
  for (const f of fs.readdirSync(dir)) if (!named.has(f)) problems.push({ part: f, problem: 'not in the manifest' });
  return problems;
}

/** The manifest of an archive whose every part checks out; otherwise exit 1 naming each problem, before anything is changed. */
export async function openArchive(dir: string): Promise<Manifest> {
  const m = readManifest(dir);
  const problems = await checkParts(dir, m);
  if (problems.length)
    throw new OpsError(
      `archive ${path.basename(dir)} refused: ${problems.map((p) => `${p.part}: ${p.problem}`).join('; ')}`,
      Exit.problem,
      'nothing was changed; restore another archive',
    );
  return m;
}

// Secrets at rest: AES-256-GCM with a key derived by scrypt from the passphrase
// (TODO_BACKUP_PASSPHRASE, kept in the secrets file). Layout: magic, salt, iv, tag, ciphertext.
const MAGIC = Buffer.from('TCB1');

export function encrypt(plain: Buffer, passphrase: string): Buffer {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = scryptSync(passphrase, salt, 32);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([MAGIC, salt, iv, c.getAuthTag(), body]);
}

export function decrypt(data: Buffer, passphrase: string): Buffer {
  if (data.length < 48 || !data.subarray(0, 4).equals(MAGIC))
    throw new OpsError('secrets.enc is not an encrypted secrets part', Exit.problem);
  const key = scryptSync(passphrase, data.subarray(4, 20), 32);
  const d = createDecipheriv('aes-256-gcm', key, data.subarray(20, 32));
  d.setAuthTag(data.subarray(32, 48));
  try {
    return Buffer.concat([d.update(data.subarray(48)), d.final()]);
  } catch {
    throw usageError(
      'cannot decrypt secrets.enc: wrong TODO_BACKUP_PASSPHRASE',
      'set the passphrase the backup was made with in the secrets file (env/.env.local)',
    );
  }
}

export interface ArchiveInfo {
  name: string;
  dir: string;
  createdAt: string;
  release: string;
}

/** The complete archives (with a readable manifest) in a destination, oldest first. */
export function listArchives(dest: string): ArchiveInfo[] {
  if (!fs.existsSync(dest)) return [];
  const out: ArchiveInfo[] = [];
  for (const name of fs.readdirSync(dest)) {
    if (name.startsWith('.')) continue;
    try {
      const m = JSON.parse(fs.readFileSync(path.join(dest, name, 'manifest.json'), 'utf8')) as Manifest;
      if (m.format === FORMAT)
        out.push({ name, dir: path.join(dest, name), createdAt: m.createdAt, release: m.release });
    } catch {
      /* not an archive */
    }
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export interface Retention {
  /** keep at most this many (newest); 0: no count limit */
  keep: number;
  /** delete those older than this many seconds; 0: no age limit */
  maxAgeSec: number;
}

/**
 * Which archives of a release retention deletes: beyond the newest `keep`, or
 * older than maxAge. The newest archive is never deleted (retention must not
 * leave a release with no backup at all). Pure.
 */
export function expired(archives: readonly ArchiveInfo[], release: string, r: Retention, now: Date): ArchiveInfo[] {
  const mine = archives.filter((a) => a.release === release).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return mine.filter(
    (a, i) =>
      i > 0 &&
      ((r.keep > 0 && i >= r.keep) ||
        (r.maxAgeSec > 0 && now.getTime() - Date.parse(a.createdAt) > r.maxAgeSec * 1000)),
  );
}
