// The suite's loader (scripts/lib/ts-loader) on the Node running the tests: the
// crontab lines and npm's .npmrc run every script through it, on every Node.
// A module with an enum proves the loader served it: Node's own type stripping
// refuses enums, esbuild's transform does not.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tsNodeFlags } from '../../scripts/lib/kit/node-flags.ts';
import { repoRoot } from '../helpers/run.ts';

describe('the ts loader', () => {
  it('runs a .ts module through its transform on this Node', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-loader-'));
    const file = path.join(dir, 'enum.ts');
    fs.writeFileSync(
      file,
      ['enum Colour { Red = 1 }', 'const n: number = Colour.Red;', 'console.log(JSON.stringify({ n }));'].join('\n'),
    );
    const env = { ...process.env, NODE_OPTIONS: '' };
    const out = JSON.parse(
      execFileSync(process.execPath, [...tsNodeFlags(), file], { cwd: repoRoot, env, encoding: 'utf8' }),
    ) as { n: number };
    expect(out).toEqual({ n: 1 });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is what the crontab lines and child scripts pass on every Node', () => {
    expect(tsNodeFlags()).toEqual(['--import', path.join(repoRoot, 'scripts/lib/ts-loader/register.mjs')]);
  });
});
