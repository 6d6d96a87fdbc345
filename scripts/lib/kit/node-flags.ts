// The node flags a child process needs to load the suite's .ts files: none on a
// Node that strips types itself (22.18+, 24), else the suite's loader
// (scripts/lib/ts-loader), by absolute path so any working directory will do.
import path from 'node:path';
import { repoRoot } from './env.ts';

const tsLoader = path.join(repoRoot, 'scripts/lib/ts-loader/register.mjs');

export function tsNodeFlags(): string[] {
  return (process.features as { typescript?: string }).typescript ? [] : ['--import', tsLoader];
}
