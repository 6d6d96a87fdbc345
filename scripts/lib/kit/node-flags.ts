// The node flags a child process (a crontab line, bootstrap's steps) runs the
// suite's .ts files with: the suite's loader (scripts/lib/ts-loader), by absolute
// path so any working directory will do. Node 22.18+ and 24 could strip the types
// themselves; the loader's cached transforms start faster and lighter there too.
import path from 'node:path';
import { repoRoot } from './env.ts';

const tsLoader = path.join(repoRoot, 'scripts/lib/ts-loader/register.mjs');

export function tsNodeFlags(): string[] {
  return ['--import', tsLoader];
}
