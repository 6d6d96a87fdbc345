import { describe, expect, it } from 'vitest';
import { addSecret, scrub, table } from '../../scripts/lib/kit/output.ts';
import { compareVersions } from '../../scripts/lib/kit/tools.ts';

describe('output helpers', () => {
  it('scrubs registered secrets from any text', () => {
    addSecret('s3cr3t-value');
    expect(scrub('token=s3cr3t-value; again s3cr3t-value')).toBe('token=***; again ***');
  });
  it('aligns table columns and upper-cases headers', () => {
    const t = table(
      [
        { a: 'x', b: 1 },
        { a: 'longer', b: 22 },
      ],
      ['a', 'b'],
    ).split('\n');
    expect(t[0]).toMatch(/^A\s+B$/);
    expect(t[1]!.indexOf('1')).toBe(t[2]!.indexOf('22'));
  });
  it('compares dotted versions numerically', () => {
    expect(compareVersions('1.10.0', '1.9.9')).toBe(1);
    expect(compareVersions('3.12.0', '3.12.0')).toBe(0);
    expect(compareVersions('1.27.3', '1.28.0')).toBe(-1);
  });
});

describe('progress on long waits', () => {
  it('prints plain start/end lines when not on a TTY (cron, CI, pipes)', async () => {
    const { Output } = await import('../../scripts/lib/kit/output.ts');
    const { vi } = await import('vitest');
    const lines: string[] = [];
    const spy = vi
      .spyOn(process.stderr, 'write')
      .mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
    try {
      const out = new Output('text', false, false);
      expect(await out.progress('waiting for rollout', async () => 42)).toBe(42);
      await expect(out.progress('waiting for pods', async () => Promise.reject(new Error('boom')))).rejects.toThrow(
        'boom',
      );
    } finally {
      spy.mockRestore();
    }
    expect(lines[0]).toBe('waiting for rollout ...\n');
    expect(lines[1]).toMatch(/^waiting for rollout: done in \d+\.\ds\n$/);
    expect(lines[3]).toMatch(/^waiting for pods: failed after \d+\.\ds\n$/);
    const text = lines.join('');
    expect(text.includes('\u001b[')).toBe(false); // no escape codes
    expect(text).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/); // no spinner frames
  });
});
