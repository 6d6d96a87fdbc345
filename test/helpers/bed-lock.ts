// Test files run in parallel on the one bed, each in namespaces of its own. The
// few that share something cluster-wide (kagent's CRDs: one file installs and
// deletes them, another runs the controller that needs them) take it in turn:
// `exclusive(name)` holds a file lock (flock(1)) from the file's first hook to
// its last.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, inject } from 'vitest';

type Holder = ChildProcessByStdio<Writable, Readable, null>;

/**
 * Waits until the lock is held: flock blocks in the kernel (no polling) and
 * prints once it has the lock; the lock lives as long as its `cat`, which ends
 * when this process closes its stdin or dies (a crashed worker frees it).
 */
async function take(name: string): Promise<Holder> {
  const file = path.join(path.dirname(inject('kubeconfig')), `${name}.lock`);
  const child = spawn('flock', ['-x', file, '-c', 'echo held && exec cat'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [first] = await Promise.race([once(child.stdout, 'data'), once(child, 'exit')]);
  if (!Buffer.isBuffer(first)) throw new Error(`flock ${file} exited with ${first}`);
  return child;
}

/** Holds the bed's lock `name` for this whole test file; call it at the top of the file. */
export function exclusive(name: string): void {
  let held: Holder | undefined;
  beforeAll(async () => {
    held = await take(name);
  }, 1_800_000);
  afterAll(async () => {
    if (!held || held.exitCode !== null) return;
    held.stdin.end();
    await once(held, 'exit');
  });
}
