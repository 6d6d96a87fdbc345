// The backend image built from backend-docker/Dockerfile FROM a stand-in
// python:3.11 slim base, started with buildah run on loopback (see scripts/lib/local-cluster/image-builds.ts).
// What is simulated: the base image (Debian bookworm + this machine's CPython
// 3.11 under /usr/local, shaped like the official one); the Dockerfile, the
// dependency install from PyPI and the app are real.
import { createHmac } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeImage } from './image-suite.ts';

const SECRET = 'images-test-secret-not-a-real-one-0123456789';

/** An HS256 JWT as the frontend issues it, so /mcp is tried past its bearer check. */
function bearer(sub: string): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub, exp: Math.floor(Date.now() / 1000) + 600 })}`;
  return `${unsigned}.${createHmac('sha256', SECRET).update(unsigned).digest('base64url')}`;
}

describeImage({
  name: 'backend',
  uid: 10001,
  health: '/healthz',
  // No DATABASE_URL: the app uses its SQLite default under /app/data (writable for 10001).
  env: { BETTER_AUTH_SECRET: SECRET, HOST: '127.0.0.1', LOG_LEVEL: 'info' },
  budgetMB: 200,
  sigtermExit: 0,
  extra(get) {
    it('is ready (/readyz) with its SQLite database in /app/data', async () => {
      const r = await fetch(`${get().base}/readyz`);
      expect(r.status).toBe(200);
    });

    it('serves the MCP endpoint from the same process (initialize answers with the todo server)', async () => {
      const r = await fetch(`${get().base}/mcp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${bearer('images-test')}`,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-03-26',
            capabilities: {},
            clientInfo: { name: 'images-test', version: '0' },
          },
        }),
      });
      // The MCP initialize handshake itself must succeed: any other status (401, 406, 405...) is a failure.
      expect(r.status).toBe(200);
      const body = (await r.json()) as { id?: number; result?: { serverInfo?: { name?: string } } };
      expect(body.id).toBe(1);
      expect(body.result?.serverInfo?.name).toBe('todo');
    });

    it('ships the venv without pip or setuptools and the app without its tests', () => {
      const { files } = get();
      expect(files).toContain('app/app/__main__.py');
      expect(files).toContain('app/requirements.txt');
      expect(files.filter((f) => /^app\/tests\/|^app\/requirements-dev\.txt$|^app\/\.venv\//.test(f))).toEqual([]);
      expect(files.filter((f) => /^opt\/venv\/lib\/python[\d.]+\/site-packages\/(pip|setuptools)\//.test(f))).toEqual(
        [],
      );
      expect(files.some((f) => /^opt\/venv\/lib\/python[\d.]+\/site-packages\/fastapi\/$/.test(f))).toBe(true);
    });
  },
});
