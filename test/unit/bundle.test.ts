// The support archive's pure parts: a tar.gz that tar reads back, helm values
// and env redaction, Secret values registered with the scrubber and dropped.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tarGz, writeBundle, yaml } from '../../scripts/debug/archive.ts';
import { redactEnv, redactValues } from '../../scripts/lib/kit/redact.ts';
import { redactSecret, registerSecretValues } from '../../scripts/lib/diagnose/collect.ts';
import { scrub } from '../../scripts/lib/kit/output.ts';

describe('support bundle', () => {
  it('tarGz: tar lists and extracts every file with its content, long paths included', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-tar-'));
    const long = `logs/${'p'.repeat(60)}/${'c'.repeat(60)}.previous.log`;
    fs.writeFileSync(path.join(dir, 'b.tar.gz'), tarGz('root', [{ path: 'README.txt', content: 'hello\n' }, { path: long, content: 'é'.repeat(700) }, { path: 'empty', content: '' }]));
    expect(execFileSync('tar', ['-tzf', 'b.tar.gz'], { cwd: dir, encoding: 'utf8' }).trim().split('\n')).toEqual(['root/README.txt', `root/${long}`, 'root/empty']);
    execFileSync('tar', ['-xzf', 'b.tar.gz'], { cwd: dir });
    expect(fs.readFileSync(path.join(dir, 'root/README.txt'), 'utf8')).toBe('hello\n');
    expect(fs.readFileSync(path.join(dir, 'root', long), 'utf8')).toBe('é'.repeat(700));
  });

  it('helm values: secret-looking keys redacted (and registered), identifiers kept', () => {
    const v = { secrets: { create: true, demoPassword: 'demo-pass-4711' }, externalDatabase: { url: 'postgresql://u:pw-0815@db/todo', host: 'db' }, postgresql: { auth: { username: 'todo', password: 'pg-pass-9911' } }, backend: { replicaCount: 2 } };
    expect(redactValues(v)).toEqual({ secrets: { create: true, demoPassword: '<redacted>' }, externalDatabase: { url: '<redacted>', host: 'db' }, postgresql: { auth: { username: 'todo', password: '<redacted>' } }, backend: { replicaCount: 2 } });
    expect(scrub('log: pg-pass-9911 demo-pass-4711 todo')).toBe('log: *** *** todo');
  });

  it('yaml: timestamps as the API writes them, not as empty objects', () => {
    expect(yaml([{ metadata: { creationTimestamp: new Date('2026-11-27T12:00:00Z') } }, { a: 1 }])).toBe("metadata:\n  creationTimestamp: 2026-11-27T12:00:00.000Z\n---\na: 1\n");
  });

  it('env: a plain value under a secret-looking name is redacted', () => {
    expect(redactEnv({ env: [{ name: 'API_TOKEN', value: 'tok-123456' }, { name: 'LOG_LEVEL', value: 'info' }] })).toEqual({ env: [{ name: 'API_TOKEN', value: '<redacted>' }, { name: 'LOG_LEVEL', value: 'info' }] });
    const at = new Date('2026-11-27T12:00:00Z');
    expect(yaml([redactEnv({ metadata: { creationTimestamp: at } })])).toBe('metadata:\n  creationTimestamp: 2026-11-27T12:00:00.000Z\n');
  });

  it('Secrets: keys and sizes only; values registered (plain and base64) so no file can carry them', () => {
    const s = { metadata: { name: 'app', namespace: 'todo' }, type: 'Opaque', data: { DB_PASSWORD: Buffer.from('s3cr3t-value-42').toString('base64'), DB_USER: Buffer.from('todo').toString('base64') } };
    registerSecretValues(s);
    expect(redactSecret(s)).toEqual({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app', namespace: 'todo' }, type: 'Opaque', data: { DB_PASSWORD: '<redacted: 15 bytes>', DB_USER: '<redacted: 4 bytes>' } });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-bundle-'));
    const file = path.join(dir, 'out', 'b.tar.gz');
    writeBundle(file, 'root', [{ path: 'logs/p/c.log', content: `password is s3cr3t-value-42; b64 ${Buffer.from('s3cr3t-value-42').toString('base64')}; user todo\n` }]);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    execFileSync('tar', ['-xzf', file], { cwd: dir });
    expect(fs.readFileSync(path.join(dir, 'root/logs/p/c.log'), 'utf8')).toBe('password is ***; b64 ***; user todo\n');
  });
});
