import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { OpsError } from '../../scripts/lib/kit/errors.ts';
import { openState, safeName, scopeDir } from '../../scripts/lib/kit/state.ts';
import { assertFailure, refuteOutput, repoRoot, run, scratchEnv } from '../helpers/run.ts';
import { tsNodeFlags } from '../../scripts/lib/kit/node-flags.ts';

const tmpRoot = () => fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-state-'));
const scope = { context: 'kind-dev', namespace: 'todo' };

/** Mount namespaces let a root test make a real read-only or full file system without touching the host's mounts. */
const canUnshare = (() => {
  try {
    execFileSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o size=4k tmpfs /mnt'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Runs `sh -c script` in a private mount namespace with a tmpfs (mount options `opts`) on $DIR. */
async function withTmpfs(opts: string, script: string, env: NodeJS.ProcessEnv) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-mnt-'));
  const fixture = `"${process.execPath}" ${tsNodeFlags().join(' ')} node_modules/zx/build/cli.js test/fixtures/state-writer.ts`;
  const r = await promisify(execFile)(
    'unshare',
    ['-m', 'sh', '-c', `mount -t tmpfs -o ${opts} tmpfs "$DIR" || exit 99\n${script.replaceAll('WRITER', fixture)}`],
    {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env, DIR: dir, TODO_STATE_DIR: dir },
    },
  ).catch((e: { code: number; stdout: string; stderr: string }) => e);
  return { status: 'code' in r ? r.code : 0, output: `${r.stdout}${r.stderr}` };
}

describe('state: layout', () => {
  it('keeps one directory per context and namespace, with safe, distinct names', () => {
    const root = tmpRoot();
    const a = openState(root, { context: 'arn:aws:eks:eu-west-1:123456789012:cluster/prod', namespace: 'todo' });
    const b = openState(root, {
      context: 'arn:aws:eks:eu-west-1:123456789012:cluster/prod',
      namespace: 'todo-staging',
    });
    expect(path.relative(root, a.dir)).toBe('arn%3Aaws%3Aeks%3Aeu-west-1%3A123456789012%3Acluster%2Fprod/todo');
    expect(fs.statSync(b.dir).isDirectory()).toBe(true);
    a.append('samples', { n: 1 });
    expect(b.history('samples')).toEqual([]);
    // Names that a lossy "replace with _" would merge stay apart; "." and ".." are never path components.
    expect(new Set(['a/b', 'a:b', 'a_b', 'a%b'].map(safeName)).size).toBe(4);
    expect(safeName('.')).toBe('%2E');
    expect(safeName('..')).toBe('%2E.');
    expect(safeName('user@cluster.example')).toBe('user%40cluster.example');
    const long = safeName('x'.repeat(300));
    expect(long.length).toBeLessThanOrEqual(121);
    expect(long).not.toBe(safeName('x'.repeat(301)));
  });

  it('an empty context is a usage error, not a shared directory', () => {
    expect(() => scopeDir(tmpRoot(), { context: '', namespace: 'todo' })).toThrow(/no kube context/);
  });
});

describe('state: history streams', () => {
  it('reads records newest first, with a limit and a since, stamped with ISO times', () => {
    const st = openState(tmpRoot(), scope);
    for (let n = 1; n <= 5; n++) st.append('samples', { n, at: `2026-01-0${n}T00:00:00.000Z` });
    const stamped = st.append('actions', { what: 'scale' });
    expect(stamped.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(st.history('samples').map((r) => r.n)).toEqual([5, 4, 3, 2, 1]);
    expect(st.history('samples', { limit: 2 }).map((r) => r.n)).toEqual([5, 4]);
    expect(st.history('samples', { since: new Date('2026-01-03T00:00:00Z') }).map((r) => r.n)).toEqual([5, 4, 3]);
    expect(st.history('nothing-yet')).toEqual([]);
    expect(st.streams()).toEqual(['actions', 'samples']);
  });

  it('reads a stream larger than its read chunk, multi-byte text across chunk edges included', () => {
    const st = openState(tmpRoot(), scope);
    const text = 'zażółć gęślą jaźń ✓ '.repeat(40); // ~1 KB a record: many 64 KiB chunk edges fall inside a character
    for (let n = 1; n <= 300; n++) st.append('events', { n, text });
    const all = st.history<{ n: number; text: string }>('events', { limit: 1000 });
    expect(all.length).toBe(300);
    expect(all.map((r) => r.n)).toEqual(Array.from({ length: 300 }, (_, i) => 300 - i));
    expect(all.every((r) => r.text === text)).toBe(true);
  });

  it('skips a line cut short by a crash, and the next append starts on a new line', () => {
    const st = openState(tmpRoot(), scope);
    st.append('samples', { n: 1 });
    fs.appendFileSync(path.join(st.dir, 'samples.jsonl'), '{"at":"2026-01-01T00:00:00.000Z","n":2,"pa'); // no newline: the writer died
    st.append('samples', { n: 3 });
    expect(st.history('samples').map((r) => r.n)).toEqual([3, 1]);
  });
});

describe('state: JSON documents', () => {
  it('writes and reads a document; absent is undefined; damaged is a clear error', () => {
    const st = openState(tmpRoot(), scope);
    expect(st.readJson('dedup')).toBeUndefined();
    st.writeJson('dedup', { a: 1 });
    st.writeJson('dedup', { a: 2 });
    expect(st.readJson('dedup')).toEqual({ a: 2 });
    expect(fs.readdirSync(st.dir).sort()).toEqual(['dedup.json']); // no temporary files left
    fs.writeFileSync(path.join(st.dir, 'dedup.json'), '{"a":');
    expect(() => st.readJson('dedup')).toThrow(/dedup\.json is not valid JSON/);
  });

  it('a reader never sees a half-written document while another process rewrites it', async () => {
    const root = tmpRoot();
    const st = openState(root, scope);
    st.writeJson('doc', { gen: 0, pad: '' });
    // The writer is a separate process: real concurrency with the reads below.
    const writer = spawn(
      process.execPath,
      [
        ...tsNodeFlags(),
        '--input-type=module',
        '-e',
        `
      const { openState } = await import(${JSON.stringify(path.join(repoRoot, 'scripts/lib/kit/state.ts'))});
      const st = openState(${JSON.stringify(root)}, ${JSON.stringify(scope)});
      console.log('writing');
      for (let gen = 1; gen <= 200; gen++) st.writeJson('doc', { gen, pad: 'y'.repeat(20_000 + gen) });
    `,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => writer.stdout.once('data', () => resolve()));
    const closed = new Promise((r) => writer.on('close', r));
    let reads = 0;
    let last = 0;
    let running = true;
    void closed.then(() => (running = false));
    while (running) {
      const doc = st.readJson<{ gen: number; pad: string }>('doc')!; // throws on a torn document
      expect(doc.gen).toBeGreaterThanOrEqual(last);
      if (doc.gen) expect(doc.pad.length).toBe(20_000 + doc.gen);
      last = doc.gen;
      reads++;
      await new Promise((r) => setImmediate(r));
    }
    expect(await closed).toBe(0);
    expect(st.readJson<{ gen: number }>('doc')!.gen).toBe(200);
    expect(reads).toBeGreaterThan(10);
  });
});

describe('state: retention', () => {
  it("prunes by age, then by size keeping the newest, and removes a dead writer's temporary file", () => {
    const st = openState(tmpRoot(), scope);
    const now = new Date('2026-03-01T00:00:00Z');
    for (let d = 30; d >= 0; d--)
      st.append('samples', { day: d, at: new Date(now.getTime() - d * 86_400_000).toISOString() });
    fs.writeFileSync(path.join(st.dir, '.samples.jsonl.999999999.0a1b2c3d.tmp'), 'debris');
    const [byAge] = st.prune({ maxAgeDays: 7, now });
    expect(byAge).toMatchObject({ stream: 'samples', kept: 8, dropped: 23 });
    expect(st.history<{ day: number }>('samples', { limit: 100 }).map((r) => r.day)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const lineBytes =
      Buffer.byteLength(fs.readFileSync(path.join(st.dir, 'samples.jsonl'), 'utf8').split('\n')[0]!) + 1;
    const [bySize] = st.prune({ maxBytes: lineBytes * 3 + 5, now });
    expect(bySize).toMatchObject({ kept: 3, dropped: 5 });
    expect(bySize!.bytes).toBeLessThanOrEqual(lineBytes * 3 + 5);
    expect(st.history<{ day: number }>('samples').map((r) => r.day)).toEqual([0, 1, 2]);
    expect(fs.readdirSync(st.dir).sort()).toEqual(['samples.jsonl']);
    // Nothing to drop: the file is left alone.
    const before = fs.statSync(path.join(st.dir, 'samples.jsonl')).ino;
    st.prune({ maxAgeDays: 7, maxBytes: 1_000_000, now });
    expect(fs.statSync(path.join(st.dir, 'samples.jsonl')).ino).toBe(before);
  });
});

describe('state: unusable directory', () => {
  it('a state dir under a regular file is a one-line configuration error (exit 2) naming the path', async () => {
    const root = tmpRoot();
    fs.writeFileSync(path.join(root, 'file'), '');
    const bad = path.join(root, 'file', 'state');
    try {
      openState(bad, scope);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(OpsError);
      expect((e as OpsError).code).toBe(2);
      expect((e as OpsError).message).toContain(bad);
      expect((e as OpsError).hint).toMatch(/TODO_STATE_DIR/);
    }
    // Through a script: the same line, the hint, exit 2, no stack trace.
    const r = await run('test/fixtures/state-writer.ts', [], { env: scratchEnv({ TODO_STATE_DIR: bad }) });
    assertFailure(r, 2);
    expect(r.stderr).toMatch(
      new RegExp(
        `^state-writer: cannot write state at ${bad}/offline/todo: a parent is not a directory \\(ENOTDIR\\)\nhint: set TODO_STATE_DIR to a writable directory`,
      ),
    );
    refuteOutput(r, /\n\s+at /);
  });

  it.skipIf(!canUnshare)('a read-only file system is a configuration error (exit 2) naming the path', async () => {
    const r = await withTmpfs('ro,size=64k', 'WRITER', scratchEnv());
    expect(r.status, r.output).toBe(2);
    expect(r.output).toMatch(
      /^state-writer: cannot write state at \/tmp\/todo-ops-mnt-\w+\/offline\/todo: read-only file system \(EROFS\)$/m,
    );
    expect(r.output).not.toMatch(/\n\s+at /);
  });

  it.skipIf(!canUnshare)(
    'a full disk fails the write with exit 4 naming the file; the history written so far stays readable',
    async () => {
      // 64 KiB of tmpfs, records of 1 KiB: the disk fills around the 60th.
      const r = await withTmpfs(
        'size=64k',
        'WRITER --records 200 --size 1000; echo "exit=$?"; WRITER --history',
        scratchEnv(),
      );
      expect(r.status, r.output).toBe(0);
      expect(r.output).toMatch(
        /^state-writer: cannot write state at \/tmp\/todo-ops-mnt-\w+\/offline\/todo\/samples\.jsonl: no space left on device \(ENOSPC\)$/m,
      );
      expect(r.output).toMatch(/^hint: free space where TODO_STATE_DIR is/m);
      expect(r.output).toContain('exit=4');
      expect(r.output).not.toMatch(/\n\s+at /);
      const m = /history: (\d+) records, newest n=(\d+)/.exec(r.output);
      expect(m, r.output).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThan(30);
      expect(Number(m![2])).toBe(Number(m![1])); // records 1..k, in order, none torn
    },
  );
});
