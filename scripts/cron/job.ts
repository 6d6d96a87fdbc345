// What a crontab line runs: rotates the job's log when it is too big, then
// runs the job with its output appended to the log, and exits with its code.
// cron mails whatever a job prints; everything goes to the log instead.
//   node scripts/cron/job.ts LOG MAX_BYTES KEEP -- COMMAND ARGS...
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** log -> log.1 -> ... -> log.KEEP (the oldest dropped) when log is larger than max. */
export function rotate(log: string, max: number, keep: number): boolean {
  let size: number;
  try {
    size = fs.statSync(log).size;
  } catch {
    return false;
  }
  if (size <= max) return false;
  fs.rmSync(`${log}.${keep}`, { force: true });
  for (let i = keep - 1; i >= 1; i--) if (fs.existsSync(`${log}.${i}`)) fs.renameSync(`${log}.${i}`, `${log}.${i + 1}`);
  fs.renameSync(log, `${log}.1`);
  return true;
}

const argv = process.argv.slice(2);
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const [log, max, keep, sep, ...cmd] = argv;
  if (!log || sep !== '--' || !cmd.length) {
    process.stderr.write('usage: job.ts LOG MAX_BYTES KEEP -- COMMAND ARGS...\n');
    process.exit(2);
  }
  fs.mkdirSync(path.dirname(log), { recursive: true });
  rotate(log, Number(max), Number(keep));
  const fd = fs.openSync(log, 'a');
  fs.writeSync(
    fd,
    `--- ${new Date().toISOString()} start ${path.basename(cmd.find((a) => /\/(ops|scripts)\/[^/]+\.ts$/.test(a)) ?? cmd[0]!)}\n`,
  );
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', fd, fd] });
  child.on('exit', (code, signal) => {
    fs.writeSync(fd, `\n--- ${new Date().toISOString()} exit ${code ?? signal}\n`);
    fs.closeSync(fd);
    process.exit(code ?? 1);
  });
}
