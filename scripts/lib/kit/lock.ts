// Locks keyed by what they protect: one release in one namespace of one
// cluster. deploy, scale, config, self-heal and restore take the release lock,
// so they exclude each other on that release and never block another one; a
// script that must not run twice but may run beside the others takes its own
// (scope = its name). A second run exits 5 naming the holder.
//
// How it stays correct with many runs at once (see the race test):
//  - A lock file is never visible half-written: the holder record is written
//    to a unique temporary file first and hard-linked into place; link(2)
//    fails with EEXIST if the lock exists, so exactly one creator wins.
//  - A lock whose holder is dead is taken over, once. Every lock file carries
//    a random generation id. To replace generation G a run must first create
//    the marker <lock>.take-G-1 (again by link: exactly one wins); if that
//    marker's owner died mid-takeover, <lock>.take-G-2, and so on. The marker's
//    owner re-reads the lock, and only if it is still generation G with a dead
//    holder renames its own record over it. Nothing else ever replaces a lock
//    file, so while it is G only that one run can replace it; a run that read G
//    earlier and gets a marker later finds another generation and backs off.
//  - "Dead" means: no such pid, or a pid now used by another process (its
//    start time in /proc differs). A holder on another host (a state dir on
//    shared storage) cannot be checked and counts as alive.
//  - The holder removes the lock on exit, SIGINT, SIGTERM and SIGHUP; a kill -9
//    leaves a stale lock that the next run takes over.
// The state directory must allow hard links (any local file system and NFS
// do); where it does not, taking a lock fails with an error naming the path.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Exit, OpsError } from './errors.ts';
import { onFile, safeName, scopeDir, stateError } from './state.ts';

/** What a lock protects: one release in one namespace of one cluster (scope: a script's own lock instead). */
export interface LockKey {
  context: string;
  namespace: string;
  release: string;
  scope?: string;
}

/** What a lock file says about its holder. */
interface LockHolder {
  script: string;
  pid: number;
  host: string;
  /** ISO time the lock was taken */
  since: string;
  /** the generation id of this lock file */
  gen: string;
  /** the holder's start time in clock ticks since boot (Linux), to tell a reused pid */
  start?: string;
  key: LockKey;
}

/** <state dir>/<context>/<namespace>/locks/<release>[+<scope>].lock */
export function lockFile(stateDir: string, key: LockKey): string {
  return path.join(
    scopeDir(stateDir, key),
    'locks',
    `${safeName(key.release)}${key.scope ? `+${safeName(key.scope)}` : ''}.lock`,
  );
}

/** A process's start time from /proc/<pid>/stat (field 22), or undefined off Linux. */
function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(h: Pick<LockHolder, 'pid' | 'host' | 'start'>): boolean {
  if (h.host !== os.hostname()) return true; // cannot tell: never take over another machine's lock
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  const now = startTime(h.pid);
  return !(h.start && now && now !== h.start); // the pid was reused by another process
}

interface Seen {
  /** generation id: the holder's, or the file's identity when it is not a record (damaged, or an old format) */
  gen: string;
  holder?: LockHolder;
}

/** The lock or marker file's holder; undefined when the file is gone. */
function readHolder(file: string): Seen | undefined {
  let text: string;
  let st: fs.Stats;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      st = fs.fstatSync(fd);
      text = fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const h = JSON.parse(text) as LockHolder;
    if (typeof h.pid === 'number' && typeof h.gen === 'string' && h.gen) return { gen: h.gen, holder: h };
  } catch {
    /* below */
  }
  // Not a record: the old "<pid>\n" format, or damaged. Its holder counts as dead unless that pid lives here.
  const pid = Number(text.trim());
  const gen = `f${st.ino}-${st.mtimeMs}`;
  return Number.isInteger(pid) && pid > 0
    ? {
        gen,
        holder: { pid, script: 'unknown', host: os.hostname(), since: st.mtime.toISOString(), gen, key: {} as LockKey },
      }
    : { gen };
}

const isDead = (s: Seen) => !s.holder || !alive(s.holder);

function busy(h: LockHolder, key: LockKey, file: string): OpsError {
  const where = `release ${key.release} in namespace ${key.namespace} (context ${key.context})`;
  const what = key.scope ? `its ${key.scope} lock on ${where}` : `the lock on ${where}`;
  const remote = h.host !== os.hostname();
  return new OpsError(
    `another ${h.script} run (pid ${h.pid}${remote ? ` on ${h.host}` : ''}) holds ${what}, since ${h.since}`,
    Exit.busy,
    remote
      ? `wait for it to finish; if that run is gone, remove ${file}`
      : `wait for it to finish, or stop it (kill ${h.pid}); lock file: ${file}`,
  );
}

/**
 * Replaces a stale lock of generation `seen.gen` with our record (in `tmp`)
 * if this run wins the takeover: true when it did, false when the lock changed
 * meanwhile (look again). Throws busy when another live run is taking over.
 */
function takeOver(file: string, seen: Seen, tmp: string, key: LockKey): boolean {
  for (let k = 1; ; k++) {
    const marker = `${file}.take-${seen.gen}-${k}`;
    try {
      fs.linkSync(tmp, marker);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const m = readHolder(marker);
      if (!m) return false; // removed by the winner: the lock has changed
      if (!m.holder || !alive(m.holder)) continue; // that taker died mid-takeover: the next marker
      // A live run is taking over and will hold the lock, unless it came late and the lock has changed: then name the new holder.
      if (readHolder(file)?.gen !== seen.gen) return false;
      throw busy(m.holder, key, file);
    }
    const now = readHolder(file);
    if (now && now.gen === seen.gen && isDead(now)) {
      fs.renameSync(tmp, file);
      return true;
    }
    fs.rmSync(marker, { force: true });
    return false;
  }
}

/** Removes takeover markers and the temporary files of runs that died: only a lock holder does this. */
function sweep(file: string): void {
  const dir = path.dirname(file);
  const base = path.basename(file);
  for (const f of fs.readdirSync(dir)) {
    if (!f.startsWith(`${base}.`)) continue;
    const p = path.join(dir, f);
    // A marker of an older generation: whoever owns it finds the lock changed and backs off.
    if (f.startsWith(`${base}.take-`)) fs.rmSync(p, { force: true });
    // A temporary file of a run that died before linking it (old, in case it is another host's).
    const tmp = /\.(\d+)\.[0-9a-f]+\.tmp$/.exec(f);
    if (
      tmp &&
      !alive({ pid: Number(tmp[1]), host: os.hostname() }) &&
      Date.now() - (fs.statSync(p, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 60_000
    )
      fs.rmSync(p, { force: true });
  }
}

/**
 * Takes the lock for `key` or throws OpsError exit 5 naming the holder.
 * Returns the release function (idempotent); the lock is also released on
 * exit and on SIGINT/SIGTERM/SIGHUP, which then exit with 128 + the signal.
 */
export async function acquireLock(stateDir: string, key: LockKey, holder: string): Promise<() => void> {
  const file = lockFile(stateDir, key);
  const dir = path.dirname(file);
  const root = path.resolve(stateDir);
  onFile(dir, root, () => fs.mkdirSync(dir, { recursive: true }));
  const me: LockHolder = {
    script: holder,
    pid: process.pid,
    host: os.hostname(),
    since: new Date().toISOString(),
    gen: randomBytes(8).toString('hex'),
    start: startTime(process.pid),
    key,
  };
  const tmp = path.join(dir, `${path.basename(file)}.${process.pid}.${me.gen}.tmp`);
  onFile(tmp, root, () => fs.writeFileSync(tmp, JSON.stringify(me) + '\n', { flag: 'wx' }));
  try {
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        fs.linkSync(tmp, file);
        return held(file, me, root);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const seen = readHolder(file);
      if (!seen) continue; // released between our link and the read
      if (!isDead(seen)) throw busy(seen.holder!, key, file);
      if (takeOver(file, seen, tmp, key)) return held(file, me, root);
    }
    throw new OpsError(`could not take the lock ${file}: it kept changing hands`, Exit.busy, 'try again');
  } catch (e) {
    throw stateError(e, file, root);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function held(file: string, me: LockHolder, root: string): () => void {
  onFile(file, root, () => sweep(file));
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    for (const [sig, fn] of handlers) process.off(sig, fn);
    // Only our own lock: never remove a lock that a takeover gave to another run.
    if (readHolder(file)?.gen === me.gen) fs.rmSync(file, { force: true });
  };
  const signals = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
  const handlers = (Object.keys(signals) as (keyof typeof signals)[]).map((sig) => {
    const fn = () => {
      release();
      process.stderr.write(`${me.script}: interrupted by ${sig}; lock released\n`);
      process.exit(128 + signals[sig]);
    };
    process.once(sig, fn);
    return [sig, fn] as const;
  });
  process.once('exit', release);
  return release;
}
