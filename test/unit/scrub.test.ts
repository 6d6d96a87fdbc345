import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { addSecret, scrub, secretForms } from '../../scripts/lib/kit/output.ts';

// Each test registers its own secret: the registry is process-wide, as in a script.
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('scrub: secrets in their encoded forms', () => {
  it('scrubs the raw value', () => {
    addSecret('raw-S3cret-value');
    expect(scrub('a raw-S3cret-value b')).toBe('a *** b');
  });

  it('scrubs base64, standard and url-safe, with and without padding', () => {
    // "?>?" bytes make + and / in standard base64, - and _ in url-safe; length 10 needs padding.
    const secret = 'ab?>?~xyz1';
    addSecret(secret);
    const std = b64(secret);
    const url = Buffer.from(secret).toString('base64url');
    expect(std).toMatch(/[+/].*==$/);
    expect(url).toMatch(/[-_]/);
    for (const form of [std, std.replace(/=+$/, ''), url, `${url}==`]) {
      const out = scrub(`data: ${form}\n`);
      expect(out, form).not.toContain(form.replace(/=+$/, ''));
      expect(out).toMatch(/^data: \*\*\*=*\n$/);
    }
  });

  it('scrubs what `kubectl get secret -o yaml` would show (base64 by the base64 tool)', () => {
    const secret = 'postgres://app:pa55word@db:5432/todo';
    addSecret(secret);
    const shown = execFileSync('base64', ['-w0'], { input: secret, encoding: 'utf8' });
    expect(scrub(`  DATABASE_URL: ${shown}`)).toBe('  DATABASE_URL: ***');
  });

  it('scrubs a secret base64-encoded with other bytes, at each of the three alignments', () => {
    const secret = 'hunter2-hunter2-hunter2';
    addSecret(secret);
    for (const prefix of ['user:', 'user1:', 'user12:']) {
      const blob = b64(`${prefix}${secret}`); // basic auth, docker config "auth"
      const out = scrub(`Authorization: Basic ${blob}`);
      // What is left of the blob: the prefix's characters plus at most one mixed character at each end.
      const left = out.replace('Authorization: Basic ', '').replace('***', '');
      expect(left.length, `${prefix}: ${out}`).toBeLessThanOrEqual(Math.ceil(((prefix.length + 1) * 8) / 6) + 3);
      expect(out).toContain('***');
      // Nothing of the secret's own encoding survives.
      const alone = b64(secret).slice(2, -2);
      expect(out).not.toContain(alone.slice(0, 8));
    }
  });

  it('scrubs URL-encoded forms (encodeURIComponent and form encoding)', () => {
    const secret = 'p@ss w/rd&x=1';
    addSecret(secret);
    expect(scrub(`https://db/?password=${encodeURIComponent(secret)}`)).toBe('https://db/?password=***');
    expect(scrub(new URLSearchParams({ password: secret }).toString())).toBe('password=***');
  });

  it('scrubs the JSON-escaped form (what output.json serializes)', () => {
    const secret = 'q"uo\\te-secret';
    addSecret(secret);
    expect(scrub(JSON.stringify({ token: secret }))).toBe('{"token":"***"}');
  });

  it('does not scrub short values or short base64 cores that would match ordinary text', () => {
    addSecret('abc'); // under 4 characters: ignored
    expect(scrub('abcdef')).toBe('abcdef');
    const forms = secretForms('abcd');
    expect(forms).toContain(b64('abcd'));
    expect(forms.every((f) => f.length >= 4)).toBe(true);
  });
});
