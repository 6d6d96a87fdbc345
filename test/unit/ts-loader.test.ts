// The suite's loader (scripts/lib/ts-loader) on the Node running the tests: the
// crontab lines and npm's .npmrc run every script through it, on every Node.
// A module with an enum proves the loader served it: Node's own type stripping
// refuses enums, esbuild's transform does not.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import module from 'node:module';
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

  // A fixed cost every run pays on Node 22/24: compiling zx, the Kubernetes client's bundle and the
  // suite's modules. Node 20 has no compile cache; there the loader leaves it alone.
  it("keeps V8's code cache in the repo's node_modules/.cache on Node 22.1+", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-loader-'));
    const file = path.join(dir, 'cache.ts');
    fs.writeFileSync(
      file,
      "import module from 'node:module';\nconsole.log(JSON.stringify({ dir: module.getCompileCacheDir?.() ?? null }));\n",
    );
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
    // Set at all (even empty), it turns the cache off.
    delete env.NODE_DISABLE_COMPILE_CACHE;
    const out = JSON.parse(
      execFileSync(process.execPath, [...tsNodeFlags(), file], { cwd: repoRoot, env, encoding: 'utf8' }),
    ) as { dir: string | null };
    fs.rmSync(dir, { recursive: true, force: true });
    const cache = path.join(repoRoot, 'node_modules/.cache/todo-chatbot-ops-v8');
    if (!('enableCompileCache' in module)) return expect(out.dir).toBeNull();
    // Node puts each Node version's entries in a directory of their own under the one it is given.
    expect(out.dir).toMatch(new RegExp(`^${cache}/`));
    expect(fs.readdirSync(out.dir!).length).toBeGreaterThan(0);
  });

  it('is what the crontab lines and child scripts pass on every Node', () => {
    expect(tsNodeFlags()).toEqual(['--import', path.join(repoRoot, 'scripts/lib/ts-loader/register.mjs')]);
  });
});
