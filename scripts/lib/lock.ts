// A cron-safe lock: a second run of the same script while one runs exits with
// a clear message (exit 5) instead of doing the same work twice. The lock is a
// file created with O_EXCL holding the owner's pid; a lock whose owner died is
// taken over, so a killed run never blocks cron forever.
import fs from 'node:fs';
import path from 'node:path';
import { Exit, OpsError } from './errors.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What a lock protects: one release in one namespace of one cluster (scope: a script's own lock instead). */
export interface LockKey {
  context: string;
  namespace: string;
  release: string;
  scope?: string;
}

export function lockFile(stateDir: string, key: LockKey): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');
  return path.join(stateDir, 'locks', `${[key.context, key.namespace, key.release, key.scope ?? 'release'].map(safe).join('__')}.lock`);
}

export async function acquireLock(stateDir: string, key: LockKey, name: string): Promise<() => void> {
  const file = lockFile(stateDir, key);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      const release = () => fs.rmSync(file, { force: true });
      const onSignal = (sig: NodeJS.Signals) => {
        release();
        process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
      };
      process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
      return () => {
        process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
        release();
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number(fs.readFileSync(file, 'utf8').trim());
      if (owner && alive(owner)) throw new OpsError(`another ${name} run (pid ${owner}) is in progress`, Exit.busy, `lock file: ${file}`);
      fs.rmSync(file, { force: true }); // stale: its owner is gone
    }
  }
  throw new OpsError(`could not take the lock ${file}`, Exit.busy);
}
