// What the scripts need from git: the commit an artefact is built from, whether
// the work tree differs from it, and where the source lives (for image labels).
import { $ } from 'zx';
import { Exit, OpsError } from '../lib/kit/errors.ts';

export interface GitState {
  /** full commit id of HEAD */
  sha: string;
  /** abbreviated commit id (git's default length, at least 7) */
  short: string;
  /** tracked changes or untracked (not ignored) files under the given paths */
  dirty: boolean;
}

async function git(dir: string, args: string[]): Promise<{ ok: boolean; out: string; err: string }> {
  const r = await $({ quiet: true, nothrow: true, cwd: dir, timeout: '30s' })`git ${args}`;
  return { ok: r.exitCode === 0, out: r.stdout.trim(), err: r.stderr.trim() };
}

/** HEAD's commit and whether `paths` (all of the work tree when empty) have uncommitted changes. */
export async function gitState(dir: string, paths: string[] = []): Promise<GitState> {
  const head = await git(dir, ['rev-parse', '--verify', '--quiet', 'HEAD']);
  if (!head.ok) {
    const inRepo = await git(dir, ['rev-parse', '--git-dir']);
    throw new OpsError(
      inRepo.ok
        ? `git: ${dir} has no commit yet`
        : `git: ${dir} is not in a git work tree (${inRepo.err.split('\n')[0] || 'git failed'})`,
      Exit.usage,
      'commit first, or give the tag yourself (--tag)',
    );
  }
  const short = await git(dir, ['rev-parse', '--short', 'HEAD']);
  const status = await git(dir, ['status', '--porcelain', '--untracked-files=normal', '--', ...paths]);
  if (!status.ok) throw new OpsError(`git status failed: ${status.err.split('\n')[0]}`, Exit.actionFailed);
  return { sha: head.out, short: short.out, dirty: status.out.length > 0 };
}

/** The tag for an artefact built from this state: short SHA, plus -dirty for uncommitted changes. */
export function stateTag(s: GitState): string {
  return s.dirty ? `${s.short}-dirty` : s.short;
}

/** origin's URL as a public source reference: credentials dropped, scp-style SSH turned into https. */
export async function sourceUrl(dir: string): Promise<string> {
  const r = await git(dir, ['config', '--get', 'remote.origin.url']);
  return r.ok ? publicUrl(r.out) : '';
}

export function publicUrl(url: string): string {
  const scp = /^[\w.-]+@([\w.-]+):(.+?)(\.git)?$/.exec(url);
  if (scp) return `https://${scp[1]}/${scp[2]}`;
  try {
    const u = new URL(url);
    if (!['http:', 'https:', 'ssh:', 'git:'].includes(u.protocol)) return '';
    u.username = '';
    u.password = '';
    const out = u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : `https://${u.hostname}${u.pathname}`;
    return out.replace(/\.git$/, '');
  } catch {
    return '';
  }
}
