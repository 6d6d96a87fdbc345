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

export async function acquireLock(stateDir: string, name: string): Promise<() => void> {
  const dir = path.join(stateDir, 'locks');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.lock`);
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
