// The notifier against a real HTTP receiver on 127.0.0.1 in this process.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../scripts/lib/kit/env.ts';
import { OpsError } from '../../scripts/lib/kit/errors.ts';
import { Notifier, notifierFromConfig, webhookBody, type NotifierOptions } from '../../scripts/lib/kit/notify.ts';
import { scrub } from '../../scripts/lib/kit/output.ts';
import { openState } from '../../scripts/lib/kit/state.ts';
import { assertFailure, assertSuccess, run, scratchEnv } from '../helpers/run.ts';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}
type Reply = (res: http.ServerResponse) => void;

/** A webhook receiver on loopback: answers each request with the next reply (the last one repeats). */
async function receiver(...replies: Reply[]) {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (d) => (data += d));
    req.on('end', () => {
      got.push({ path: req.url!, headers: req.headers, body: JSON.parse(data || '{}') });
      (replies[got.length - 1] ?? replies[replies.length - 1] ?? ok)(res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  servers.push(server);
  // The path is the credential, as in a Slack webhook URL.
  return { got, port, url: `http://127.0.0.1:${port}/services/T0SECRET/B0SECRET/xoxSecretToken123` };
}
const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});
const ok: Reply = (res) => res.writeHead(200).end('ok');
const status =
  (code: number, text = '', headers: Record<string, string> = {}): Reply =>
  (res) =>
    res.writeHead(code, headers).end(text);
const never: Reply = () => {}; // holds the request: a receiver that is too slow

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

const notifier = (url: string, o: Partial<NotifierOptions> = {}) =>
  new Notifier({ url, format: 'json', timeoutMs: 2000, retries: 2, dedupWindowMs: 3_600_000, backoffMs: 10, ...o });
const sample = {
  title: 'backend degraded',
  text: '2 of 3 pods ready',
  level: 'warn' as const,
  script: 'monitor',
  release: 'todo-chatbot',
  namespace: 'todo',
  context: 'kind-dev',
  fields: { ready: '2/3', restarts: 4 },
};
const tmpState = () =>
  openState(fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-notify-')), { context: 'kind-dev', namespace: 'todo' });

describe('notify: bodies', () => {
  it('delivers a Slack-compatible body: text fallback, blocks with title, fields and where', async () => {
    const r = await receiver(ok);
    const d = await notifier(r.url, { format: 'slack' }).send(sample);
    expect(d).toEqual({ status: 'sent', attempts: 1, httpStatus: 200 });
    expect(r.got[0]!.headers['content-type']).toBe('application/json');
    expect(r.got[0]!.path).toBe('/services/T0SECRET/B0SECRET/xoxSecretToken123');
    expect(r.got[0]!.body).toEqual({
      text: '[WARN] backend degraded',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: ':warning: *backend degraded*\n2 of 3 pods ready' } },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: '*ready*\n2/3' },
            { type: 'mrkdwn', text: '*restarts*\n4' },
          ],
        },
        {
          type: 'context',
          elements: [{ type: 'mrkdwn', text: 'monitor · release todo-chatbot · namespace todo · context kind-dev' }],
        },
      ],
    });
  });

  it('delivers a plain JSON body: the notification as it is, with an ISO time', async () => {
    const r = await receiver(ok);
    await notifier(r.url).send({ ...sample, dedupKey: 'k1' });
    expect(r.got[0]!.body).toMatchObject({
      title: 'backend degraded',
      text: '2 of 3 pods ready',
      level: 'warn',
      script: 'monitor',
      release: 'todo-chatbot',
      namespace: 'todo',
      context: 'kind-dev',
      fields: { ready: '2/3', restarts: 4 },
      dedupKey: 'k1',
    });
    expect(r.got[0]!.body.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('scrubs registered secrets out of the text it sends', () => {
    const r = `http://127.0.0.1:1/services/T0/B0/bodyScrubTest999`;
    notifier(r); // registers the URL
    const body = webhookBody({ title: 'failed', text: `curl ${r} said no` }, 'json');
    expect(body.text).toBe('curl *** said no');
  });
});

describe('notify: delivery', () => {
  it('a receiver that is down: retried, then exit 4 naming the host only', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/hooks/downSecretPath42`;
    const logs: string[] = [];
    const err = await notifier(url, { log: (m) => logs.push(m) })
      .send(sample)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpsError);
    expect((err as OpsError).code).toBe(4);
    expect((err as OpsError).message).toBe(
      `webhook 127.0.0.1:${port} failed after 3 attempts: connection refused (ECONNREFUSED)`,
    );
    expect(logs.filter((l) => l.includes('attempt')).length).toBe(3);
    expect(JSON.stringify([err, (err as OpsError).message, (err as OpsError).hint, logs])).not.toContain(
      'downSecretPath42',
    );
  });

  it('a slow receiver: the attempt times out, the retry succeeds', async () => {
    const r = await receiver(never, ok);
    const t0 = Date.now();
    const d = await notifier(r.url, { timeoutMs: 300 }).send(sample);
    const took = Date.now() - t0;
    expect(d).toMatchObject({ status: 'sent', attempts: 2 });
    expect(r.got.length).toBe(2);
    expect(took).toBeGreaterThanOrEqual(300);
    expect(took).toBeLessThan(5000);
  });

  it('a receiver that never answers: every attempt times out, exit 4 says so', async () => {
    const r = await receiver(never);
    const err = await notifier(r.url, { timeoutMs: 200, retries: 1 })
      .send(sample)
      .catch((e: unknown) => e);
    expect((err as OpsError).message).toBe(
      `webhook 127.0.0.1:${r.port} failed after 2 attempts: no answer within 0.2s`,
    );
    expect(r.got.length).toBe(2);
  });

  it('500 then 200: retried after a backoff, delivered', async () => {
    const r = await receiver(status(500, 'oops'), ok);
    const logs: string[] = [];
    const d = await notifier(r.url, { backoffMs: 50, log: (m) => logs.push(m) }).send(sample);
    expect(d).toEqual({ status: 'sent', attempts: 2, httpStatus: 200 });
    expect(logs).toContain(`webhook 127.0.0.1:${r.port}: HTTP 500 (oops); retrying in 0.1s`);
  });

  it('429 with Retry-After is retried after that long', async () => {
    const r = await receiver(status(429, 'slow down', { 'retry-after': '0' }), ok);
    expect(await notifier(r.url, { backoffMs: 60_000 }).send(sample)).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it("400 is not retried: exit 4 with the receiver's reason", async () => {
    const r = await receiver(status(400, 'invalid_payload'));
    const err = await notifier(r.url)
      .send(sample)
      .catch((e: unknown) => e);
    expect(r.got.length).toBe(1);
    expect((err as OpsError).code).toBe(4);
    expect((err as OpsError).message).toBe(
      `webhook 127.0.0.1:${r.port} refused the notification: HTTP 400 (invalid_payload)`,
    );
  });

  it('no URL: notifications are off', async () => {
    expect(await notifier('').send(sample)).toEqual({ status: 'off', attempts: 0 });
  });
});

describe('notify: dedup', () => {
  it('the same key within the window is sent once, across runs (state dir); after the window, again', async () => {
    const r = await receiver(ok);
    const state = tmpState();
    let now = new Date('2026-05-01T10:00:00Z');
    const make = () => notifier(r.url, { state, dedupWindowMs: 3_600_000, now: () => now });
    expect((await make().send({ ...sample, dedupKey: 'backend-degraded' })).status).toBe('sent');
    now = new Date('2026-05-01T10:30:00Z');
    expect((await make().send({ ...sample, dedupKey: 'backend-degraded' })).status).toBe('deduped'); // a new Notifier: another run
    expect((await make().send({ ...sample, dedupKey: 'db-down' })).status).toBe('sent');
    expect((await make().send(sample)).status).toBe('sent'); // no key: always sent
    now = new Date('2026-05-01T11:00:01Z');
    expect((await make().send({ ...sample, dedupKey: 'backend-degraded' })).status).toBe('sent');
    expect(r.got.length).toBe(4);
    // Expired keys are dropped from the stored window.
    now = new Date('2026-05-01T11:45:00Z');
    await make().send({ ...sample, dedupKey: 'other' });
    expect(Object.keys(state.readJson<Record<string, string>>('notify-dedup')!).sort()).toEqual([
      'backend-degraded',
      'other',
    ]);
  });

  it('a failed send does not count: the next try with the same key goes out', async () => {
    const r = await receiver(status(400), ok);
    const n = notifier(r.url, { state: tmpState() });
    await expect(n.send({ ...sample, dedupKey: 'k' })).rejects.toThrow(/HTTP 400/);
    expect((await n.send({ ...sample, dedupKey: 'k' })).status).toBe('sent');
  });
});

describe('notify: settings and the URL as a secret', () => {
  it('declares TODO_WEBHOOK_* in the shared config; the URL is a secret, checked without echoing it', () => {
    const envDir = path.join(import.meta.dirname, '../../env');
    const cfg = loadConfig({
      profile: 'testbed',
      envDir,
      env: {
        TODO_WEBHOOK_URL: 'https://hooks.example.com/x/y/zzzzzz',
        TODO_WEBHOOK_FORMAT: 'json',
        TODO_WEBHOOK_TIMEOUT: '5s',
        TODO_WEBHOOK_RETRIES: '1',
      },
    });
    expect(cfg.secretKeys).toContain('TODO_WEBHOOK_URL');
    expect(cfg).toMatchObject({
      TODO_WEBHOOK_FORMAT: 'json',
      TODO_WEBHOOK_TIMEOUT: 5,
      TODO_WEBHOOK_RETRIES: 1,
      TODO_WEBHOOK_DEDUP: 3600,
    });
    expect(notifierFromConfig(cfg).target).toBe('hooks.example.com');
    expect(() =>
      loadConfig({ profile: 'testbed', envDir, env: { TODO_WEBHOOK_URL: 'ftp://secret-host/abc' } }),
    ).toThrow(/^TODO_WEBHOOK_URL must be an http\(s\) URL \(in the environment\)$/);
    expect(() => loadConfig({ profile: 'testbed', envDir, env: { TODO_WEBHOOK_RETRIES: '99' } })).toThrow(
      /TODO_WEBHOOK_RETRIES must be between 0 and 10/,
    );
  });

  it('a script that notifies never shows the URL, with --verbose, in text or JSON, delivered or not', async () => {
    const r = await receiver(ok);
    const secretPath = '/services/T0SECRET/B0SECRET/xoxSecretToken123';
    const base = { TODO_WEBHOOK_URL: r.url, TODO_WEBHOOK_RETRIES: '1' };
    const sent = await run('test/fixtures/notifier.ts', ['--verbose', '--key', 'k1'], { env: scratchEnv(base) });
    assertSuccess(sent);
    expect(sent.output).toContain(`notification sent to 127.0.0.1:${r.port} after 1 attempt(s)`);
    expect(sent.output).toContain(`webhook POST http://127.0.0.1:${r.port}/… (slack, attempt 1/2)`);
    expect(sent.output).toContain('TODO_WEBHOOK_URL":"(set)'); // the --verbose config line
    const down = await run('test/fixtures/notifier.ts', ['--verbose', '-o', 'json'], {
      env: scratchEnv({ ...base, TODO_WEBHOOK_URL: `http://127.0.0.1:${await closedPort()}${secretPath}` }),
    });
    assertFailure(down, 4);
    expect(down.json<{ error: { message: string } }>().error.message).toMatch(
      /^webhook 127\.0\.0\.1:\d+ failed after 2 attempts: connection refused \(ECONNREFUSED\)$/,
    );
    const refused = await run('test/fixtures/notifier.ts', [], {
      env: scratchEnv({ ...base, TODO_WEBHOOK_URL: (await receiver(status(403, `no such hook ${secretPath}`))).url }),
    });
    assertFailure(refused, 4);
    expect(refused.output).toContain('refused the notification: HTTP 403 (no such hook ***)'); // the receiver echoed the path: scrubbed
    for (const out of [sent.output, down.output, refused.output]) {
      for (const leak of ['T0SECRET', 'B0SECRET', 'xoxSecretToken123', encodeURIComponent(secretPath)])
        expect(out).not.toContain(leak);
    }
  });

  it('scrub() hides the URL wherever it turns up once a notifier is made', () => {
    const url = 'https://hooks.example.com/services/TSCRUB/BSCRUB/anotherSecret';
    notifier(url);
    expect(
      scrub(
        `POST ${url} failed; path /services/TSCRUB/BSCRUB/anotherSecret; b64 ${Buffer.from(url).toString('base64')}`,
      ),
    ).toBe('POST *** failed; path ***; b64 ***');
  });
});
