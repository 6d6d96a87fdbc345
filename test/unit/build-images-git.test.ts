// scripts/build-images/git.ts, which build-images uses for its tags and OCI labels,
// against throwaway repositories.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { gitState, publicUrl, stateTag } from '../../scripts/build-images/git.ts';
import { OpsError } from '../../scripts/lib/kit/errors.ts';

function repo(): { dir: string; git: (...args: string[]) => string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'git-state-'));
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
      cwd: dir,
      encoding: 'utf8',
    }).trim();
  git('init', '-q', '-b', 'main');
  return { dir, git };
}

describe('git state for image tags', () => {
  it('a clean tree is tagged with the short SHA; changes, new files and paths decide -dirty', async () => {
    const { dir, git } = repo();
    fs.mkdirSync(path.join(dir, 'frontend'));
    fs.mkdirSync(path.join(dir, 'backend'));
    fs.writeFileSync(path.join(dir, 'frontend/a.txt'), 'a');
    fs.writeFileSync(path.join(dir, 'backend/b.txt'), 'b');
    fs.writeFileSync(path.join(dir, '.gitignore'), 'ignored/\n');
    git('add', '.');
    git('commit', '-q', '-m', 'one');
    const clean = await gitState(dir);
    expect(clean).toEqual({ sha: git('rev-parse', 'HEAD'), short: git('rev-parse', '--short', 'HEAD'), dirty: false });
    expect(stateTag(clean)).toBe(clean.short);

    fs.mkdirSync(path.join(dir, 'ignored'));
    fs.writeFileSync(path.join(dir, 'ignored/x'), 'x'); // ignored files never make a tree dirty
    expect((await gitState(dir)).dirty).toBe(false);

    fs.writeFileSync(path.join(dir, 'backend/new.txt'), 'n'); // untracked
    expect(stateTag(await gitState(dir))).toBe(`${clean.short}-dirty`);
    expect((await gitState(dir, [path.join(dir, 'frontend')])).dirty).toBe(false); // only the paths asked about
    expect((await gitState(dir, [path.join(dir, 'backend')])).dirty).toBe(true);

    fs.rmSync(path.join(dir, 'backend/new.txt'));
    fs.writeFileSync(path.join(dir, 'frontend/a.txt'), 'changed'); // modified, tracked
    expect((await gitState(dir, [path.join(dir, 'frontend')])).dirty).toBe(true);
  });

  it('outside a repository, or before the first commit: a usage error that suggests --tag', async () => {
    const plain = fs.mkdtempSync(path.join(os.tmpdir(), 'no-git-'));
    await expect(gitState(plain)).rejects.toMatchObject({ code: 2, hint: expect.stringContaining('--tag') });
    const { dir } = repo();
    const e = await gitState(dir).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpsError);
    expect((e as OpsError).message).toMatch(/has no commit yet/);
  });

  it('origin URLs become public source URLs: no credentials, SSH as https', () => {
    expect(publicUrl('https://bot:token@github.com/org/todo.git')).toBe('https://github.com/org/todo');
    expect(publicUrl('git@github.com:org/todo.git')).toBe('https://github.com/org/todo');
    expect(publicUrl('ssh://git@git.example.com:2222/org/todo.git')).toBe('https://git.example.com/org/todo');
    expect(publicUrl('/srv/git/todo.git')).toBe('');
    expect(publicUrl('file:///srv/git/todo.git')).toBe('');
  });
});
