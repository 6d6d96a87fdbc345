// The support archive's pure parts: a tar.gz that reads back exactly, helm values
// and env redaction, Secret values registered with the scrubber and dropped.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { tarGz, writeBundle, yaml } from '../../scripts/debug/archive.ts';
import { redactEnv, redactValues } from '../../scripts/lib/kit/redact.ts';
import { redactSecret, registerSecretValues } from '../../scripts/lib/diagnose/collect.ts';
import { scrub } from '../../scripts/lib/kit/output.ts';

/** The entries of a tar.gz as tar-stream reads them back: header and content. */
async function entries(gz: Buffer): Promise<{ header: tar.Header; content: string }[]> {
  const x = tar.extract();
  x.end(gunzipSync(gz));
  const out: { header: tar.Header; content: string }[] = [];
  for await (const e of x) out.push({ header: e.header, content: (await buffer(e)).toString('utf8') });
  return out;
}

describe('support bundle', () => {
  it('tarGz: every file under root/, a regular file with its content, all with one mtime', async () => {
    const at = new Date('2026-11-27T12:00:00Z');
    const long = `logs/${'p'.repeat(60)}/${'c'.repeat(60)}.previous.log`;
    const got = await entries(
      await tarGz(
        'root',
        [
          { path: 'README.txt', content: 'hello\n' },
          { path: long, content: 'é'.repeat(700) },
          { path: 'empty', content: '' },
        ],
        at,
      ),
    );
    expect(got.map((e) => [e.header.name, e.header.type, e.header.mode, e.header.mtime.getTime(), e.content])).toEqual([
      ['root/README.txt', 'file', 0o644, at.getTime(), 'hello\n'],
      [`root/${long}`, 'file', 0o644, at.getTime(), 'é'.repeat(700)],
      ['root/empty', 'file', 0o644, at.getTime(), ''],
    ]);
  });

  it('tarGz: a path longer than ustar holds (a 253-character pod name) round-trips exactly, for tar too', async () => {
    const long = `logs/${'p'.repeat(253)}/${'c'.repeat(63)}.previous.log`;
    const gz = await tarGz('root', [{ path: long, content: 'last line\n' }]);
    expect((await entries(gz)).map((e) => [e.header.name, e.content])).toEqual([[`root/${long}`, 'last line\n']]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-tar-'));
    fs.writeFileSync(path.join(dir, 'b.tar.gz'), gz);
    execFileSync('tar', ['-xzf', 'b.tar.gz'], { cwd: dir });
    expect(fs.readFileSync(path.join(dir, 'root', long), 'utf8')).toBe('last line\n');
  });

  it('helm values: secret-looking keys redacted (and registered), identifiers kept', () => {
    const v = {
      secrets: { create: true, demoPassword: 'demo-pass-4711' },
      externalDatabase: { url: 'postgresql://u:pw-0815@db/todo', host: 'db' },
      postgresql: { auth: { username: 'todo', password: 'pg-pass-9911' } },
      backend: { replicaCount: 2 },
    };
    expect(redactValues(v)).toEqual({
      secrets: { create: true, demoPassword: '<redacted>' },
      externalDatabase: { url: '<redacted>', host: 'db' },
      postgresql: { auth: { username: 'todo', password: '<redacted>' } },
      backend: { replicaCount: 2 },
    });
    expect(scrub('log: pg-pass-9911 demo-pass-4711 todo')).toBe('log: *** *** todo');
  });

  it('yaml: timestamps as the API writes them, not as empty objects', () => {
    expect(yaml([{ metadata: { creationTimestamp: new Date('2026-11-27T12:00:00Z') } }, { a: 1 }])).toBe(
      'metadata:\n  creationTimestamp: 2026-11-27T12:00:00.000Z\n---\na: 1\n',
    );
  });

  it('env: a plain value under a secret-looking name is redacted', () => {
    expect(
      redactEnv({
        env: [
          { name: 'API_TOKEN', value: 'tok-123456' },
          { name: 'LOG_LEVEL', value: 'info' },
        ],
      }),
    ).toEqual({
      env: [
        { name: 'API_TOKEN', value: '<redacted>' },
        { name: 'LOG_LEVEL', value: 'info' },
      ],
    });
    const at = new Date('2026-11-27T12:00:00Z');
    expect(yaml([redactEnv({ metadata: { creationTimestamp: at } })])).toBe(
      'metadata:\n  creationTimestamp: 2026-11-27T12:00:00.000Z\n',
    );
  });

  it('Secrets: keys and sizes only; values registered (plain and base64) so no file can carry them', async () => {
    const s = {
      metadata: { name: 'app', namespace: 'todo' },
      type: 'Opaque',
      data: {
        DB_PASSWORD: Buffer.from('s3cr3t-value-42').toString('base64'),
        DB_USER: Buffer.from('todo').toString('base64'),
      },
    };
    registerSecretValues(s);
    expect(redactSecret(s)).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'app', namespace: 'todo' },
      type: 'Opaque',
      data: { DB_PASSWORD: '<redacted: 15 bytes>', DB_USER: '<redacted: 4 bytes>' },
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-bundle-'));
    const file = path.join(dir, 'out', 'b.tar.gz');
    await writeBundle(file, 'root', [
      {
        path: 'logs/p/c.log',
        content: `password is s3cr3t-value-42; b64 ${Buffer.from('s3cr3t-value-42').toString('base64')}; user todo\n`,
      },
    ]);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    execFileSync('tar', ['-xzf', file], { cwd: dir });
    expect(fs.readFileSync(path.join(dir, 'root/logs/p/c.log'), 'utf8')).toBe('password is ***; b64 ***; user todo\n');
  });
});
