// What ops scripts keep between runs: history streams (samples for trends,
// actions taken, notifications sent) as JSON lines, and small JSON documents
// (the last known state of something). One directory per cluster context and
// namespace under $TODO_STATE_DIR, so two clusters or namespaces never mix
// their history, and locks live next to what they protect (lock.ts).
//
//   $TODO_STATE_DIR/<context>/<namespace>/<stream>.jsonl   newest record last
//   $TODO_STATE_DIR/<context>/<namespace>/<name>.json      replaced atomically
//   $TODO_STATE_DIR/<context>/<namespace>/locks/           lock.ts
//
// Errors: a state directory that cannot be written is a configuration problem
// (exit 2, "set TODO_STATE_DIR..."); openState() probes it with a real write, so
// that shows before a script has changed anything. A full disk or an I/O error
// later is a failed action (exit 4). Either way: one line naming the path.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Exit, OpsError } from './errors.ts';

/** Whose state: one cluster context and one namespace. */
export interface StateScope {
  /** the resolved context name (not empty) */
  context: string;
  namespace: string;
}

/** A stored record: what was appended plus its time, ISO 8601 UTC. */
export type Stored<T extends object = Record<string, unknown>> = T & { at: string };

export interface HistoryOptions {
  /** at most this many records (default 100) */
  limit?: number;
  /** only records at or after this time */
  since?: Date;
}

export interface PruneOptions {
  /** drop records older than this */
  maxAgeDays?: number;
  /** keep each stream under this size, dropping its oldest records */
  maxBytes?: number;
  now?: Date;
  /** only these streams (default: every stream in the directory) */
  streams?: string[];
}

export interface PruneReport {
  stream: string;
  kept: number;
  dropped: number;
  bytes: number;
}

/**
 * A file-name-safe, reversible and collision-free spelling of a context or
 * namespace: letters, digits, "_", "-" and inner "." stay; anything else
 * (":", "/", "@" in EKS ARNs and user@cluster names, a leading ".") becomes
 * %XX. Long names are cut and suffixed with a hash to stay under NAME_MAX.
 */
export function safeName(s: string): string {
  if (!s) throw new Error('safeName: empty name');
  let out = '';
  for (const [i, ch] of [...s].entries()) {
    if (/[A-Za-z0-9_-]/.test(ch) || (ch === '.' && i > 0)) out += ch;
    else out += [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  if (out.length > 120) out = `${out.slice(0, 100)}~${createHash('sha256').update(s).digest('hex').slice(0, 16)}`;
  return out;
}

/** The state directory of one context and namespace (not created). */
export function scopeDir(stateRoot: string, scope: StateScope): string {
  if (!scope.context)
    throw new OpsError('no kube context to keep state for', Exit.usage, 'pass --context or set TODO_CONTEXT');
  return path.join(path.resolve(stateRoot), safeName(scope.context), safeName(scope.namespace));
}

const configCodes: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a parent is not a directory',
  EEXIST: 'exists and is not a directory',
  EISDIR: 'is a directory',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
};
const spaceCodes: Record<string, string> = { ENOSPC: 'no space left on device', EDQUOT: 'disk quota exceeded' };

/**
 * An fs error as a one-line OpsError naming the path: exit 2 when the state
 * directory is unusable as configured, 4 when the disk is full or failing.
 * Anything that is not an fs error is returned as it is.
 */
export function stateError(e: unknown, file: string, stateRoot: string): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (e instanceof OpsError || typeof code !== 'string') return e;
  if (configCodes[code])
    return new OpsError(
      `cannot write state at ${file}: ${configCodes[code]} (${code})`,
      Exit.usage,
      `set TODO_STATE_DIR to a writable directory (now ${stateRoot})`,
    );
  if (spaceCodes[code])
    return new OpsError(
      `cannot write state at ${file}: ${spaceCodes[code]} (${code})`,
      Exit.actionFailed,
      `free space where TODO_STATE_DIR is (${stateRoot}), or prune its history`,
    );
  return new OpsError(`cannot use state at ${file}: ${code}`, Exit.actionFailed);
}

/** Runs an fs operation on `file`, mapping its errors (stateError). */
export function onFile<T>(file: string, stateRoot: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw stateError(e, file, stateRoot);
  }
}

const nameRe = /^[a-z0-9][a-z0-9_.-]*$/i;
function checkName(kind: string, name: string): void {
  if (!nameRe.test(name) || name.length > 100) throw new Error(`bad state ${kind} name "${name}"`); // a bug in the caller, not an ops error
}

/** A temporary file next to `file`: same file system, so the rename is atomic. */
const tmpName = (file: string) =>
  path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);

/** Writes `data` to `file` all or nothing: temporary file, fsync, rename. */
function writeAtomic(file: string, data: string | Buffer, stateRoot = path.dirname(file)): void {
  const tmp = tmpName(file);
  onFile(file, stateRoot, () => {
    try {
      const fd = fs.openSync(tmp, 'wx', 0o644);
      try {
        fs.writeFileSync(fd, data);
        fs.fsyncSync(fd); // the rename must not land before the data
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, file);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  });
}

/** Lines of a file from the last to the first, read in chunks from the end. */
function* linesBackward(file: string): Generator<string> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    let pos = fs.fstatSync(fd).size;
    let carry = Buffer.alloc(0);
    while (pos > 0) {
      const len = Math.min(64 * 1024, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, pos);
      const data = carry.length ? Buffer.concat([buf, carry]) : buf;
      // Splitting bytes at "\n" is safe in UTF-8: no multi-byte character contains 0x0a.
      let end = data.length;
      for (let i = data.length - 1; i >= 0; i--) {
        if (data[i] !== 0x0a) continue;
        if (end > i + 1) yield data.subarray(i + 1, end).toString('utf8');
        end = i;
      }
      carry = Buffer.from(data.subarray(0, end));
    }
    if (carry.length) yield carry.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

function parseLine<T>(line: string): T | undefined {
  try {
    const v = JSON.parse(line) as unknown;
    return v && typeof v === 'object' && typeof (v as { at?: unknown }).at === 'string' ? (v as T) : undefined;
  } catch {
    return undefined; // a line cut by a crash or a full disk mid-write is skipped, not fatal
  }
}

export class State {
  /** this context's and namespace's directory */
  readonly dir: string;
  readonly root: string;

  constructor(stateRoot: string, scope: StateScope) {
    this.root = path.resolve(stateRoot);
    this.dir = scopeDir(stateRoot, scope);
  }

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  /** Appends one record to a stream, stamped with `at` (now, ISO) unless it has its own. */
  append<T extends object>(stream: string, record: T): Stored<T> {
    checkName('stream', stream);
    const stored = { at: new Date().toISOString(), ...record } as Stored<T>;
    const file = this.file(`${stream}.jsonl`);
    onFile(file, this.root, () => {
      const fd = fs.openSync(file, 'a+', 0o644);
      try {
        // A record cut short by a crash or a full disk is left as a partial line: start on a fresh one.
        const size = fs.fstatSync(fd).size;
        const last = Buffer.alloc(1);
        const lead = size > 0 && fs.readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a ? '\n' : '';
        // One write with O_APPEND: concurrent appenders do not interleave within a line on a local disk.
        fs.writeSync(fd, `${lead}${JSON.stringify(stored)}\n`);
      } finally {
        fs.closeSync(fd);
      }
    });
    return stored;
  }

  /** A stream's records, newest first. Unreadable lines are skipped. */
  history<T extends object = Record<string, unknown>>(stream: string, opts: HistoryOptions = {}): Stored<T>[] {
    checkName('stream', stream);
    const limit = opts.limit ?? 100;
    const since = opts.since?.getTime();
    const file = this.file(`${stream}.jsonl`);
    const out: Stored<T>[] = [];
    if (limit <= 0) return out;
    return onFile(file, this.root, () => {
      for (const line of linesBackward(file)) {
        const r = parseLine<Stored<T>>(line);
        if (!r) continue;
        if (since !== undefined && Date.parse(r.at) < since) break; // appended in time order: the rest is older
        out.push(r);
        if (out.length >= limit) break;
      }
      return out;
    });
  }

  /** Replaces <name>.json atomically: a reader sees the old document or the new one, never a mix. */
  writeJson(name: string, value: unknown): void {
    checkName('document', name);
    writeAtomic(this.file(`${name}.json`), JSON.stringify(value, null, 2) + '\n', this.root);
  }

  /** <name>.json, or undefined when there is none. */
  readJson<T = unknown>(name: string): T | undefined {
    checkName('document', name);
    const file = this.file(`${name}.json`);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw stateError(e, file, this.root);
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new OpsError(
        `state file ${file} is not valid JSON`,
        Exit.actionFailed,
        'it was edited or damaged outside the scripts: remove it, the next run writes it again',
      );
    }
  }

  /** The history streams in this directory. */
  streams(): string[] {
    if (!fs.existsSync(this.dir)) return [];
    return onFile(this.dir, this.root, () =>
      fs
        .readdirSync(this.dir)
        .filter((f) => f.endsWith('.jsonl'))
        .map((f) => f.slice(0, -'.jsonl'.length))
        .sort(),
    );
  }

  /**
   * Retention: drops records older than maxAgeDays, then the oldest records of
   * each stream until it fits in maxBytes, and temporary files left by a crash.
   * Each stream is rewritten atomically, and records appended while it is
   * rewritten are carried over; an append racing the final rename itself can
   * still be lost, so prune from the stream's writer (in the suite, the
   * script that owns the stream, under its lock).
   */
  prune(opts: PruneOptions): PruneReport[] {
    const now = (opts.now ?? new Date()).getTime();
    const cutoff = opts.maxAgeDays === undefined ? -Infinity : now - opts.maxAgeDays * 86_400_000;
    const reports: PruneReport[] = [];
    for (const stream of this.streams().filter((s) => !opts.streams || opts.streams.includes(s))) {
      const file = this.file(`${stream}.jsonl`);
      onFile(file, this.root, () => {
        const size0 = fs.statSync(file).size;
        const lines = fs.readFileSync(file).subarray(0, size0).toString('utf8').split('\n').filter(Boolean);
        let kept = lines.filter((l) => {
          const r = parseLine<Stored>(l);
          return r !== undefined && !(Date.parse(r.at) < cutoff);
        });
        if (opts.maxBytes !== undefined) {
          let bytes = 0;
          let from = kept.length;
          while (from > 0 && bytes + Buffer.byteLength(kept[from - 1]!) + 1 <= opts.maxBytes)
            bytes += Buffer.byteLength(kept[--from]!) + 1;
          kept = kept.slice(from);
        }
        const body = kept.map((l) => l + '\n').join('');
        if (kept.length !== lines.length || Buffer.byteLength(body) !== size0) {
          const tmp = tmpName(file);
          try {
            fs.writeFileSync(tmp, body, { flag: 'wx', mode: 0o644 });
            // Carry over what was appended since the read, until the file stops growing.
            for (
              let done = size0, size = fs.statSync(file).size;
              size > done;
              done = size, size = fs.statSync(file).size
            ) {
              const fd = fs.openSync(file, 'r');
              try {
                const buf = Buffer.alloc(size - done);
                fs.readSync(fd, buf, 0, buf.length, done);
                fs.appendFileSync(tmp, buf);
              } finally {
                fs.closeSync(fd);
              }
            }
            fs.renameSync(tmp, file);
          } catch (e) {
            fs.rmSync(tmp, { force: true });
            throw e;
          }
        }
        reports.push({ stream, kept: kept.length, dropped: lines.length - kept.length, bytes: fs.statSync(file).size });
      });
    }
    // Temporary files of writers that died between write and rename.
    for (const f of onFile(this.dir, this.root, () => fs.readdirSync(this.dir))) {
      const m = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(f);
      if (m && !alive(Number(m[1]))) fs.rmSync(this.file(f), { force: true });
    }
    return reports;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * mkdir -p that reports the real reason: Node's recursive mkdir says ENOENT
 * for a read-only file system, and that would send the user the wrong way.
 */
function mkdirs(dir: string): void {
  try {
    fs.mkdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && fs.statSync(dir).isDirectory()) return;
    if (code !== 'ENOENT' || path.dirname(dir) === dir) throw e;
    mkdirs(path.dirname(dir));
    mkdirs(dir);
  }
}

export interface OpenOptions {
  /** only reads: the directory is neither created nor probed (a full or read-only disk can still be read) */
  readOnly?: boolean;
}

/**
 * The state of one context and namespace, its directory created and probed
 * with a real write: an unusable TODO_STATE_DIR fails here (exit 2), before
 * the script changes anything, not after a deploy when it records history.
 * A full disk does not fail the probe (it may have room by the time a record
 * is written); the write that hits it does.
 */
export function openState(stateRoot: string, scope: StateScope, opts: OpenOptions = {}): State {
  const state = new State(stateRoot, scope);
  if (opts.readOnly) return state;
  onFile(state.dir, state.root, () => mkdirs(state.dir));
  const probe = tmpName(path.join(state.dir, 'probe'));
  try {
    fs.writeFileSync(probe, 'probe\n', { flag: 'wx' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!code || !spaceCodes[code]) throw stateError(e, state.dir, state.root);
  } finally {
    fs.rmSync(probe, { force: true });
  }
  return state;
}
