// The frontend image built from frontend-docker/Dockerfile FROM a stand-in
// node:24 bookworm-slim base, started with buildah run on loopback (see
// scripts/lib/local-cluster/image-builds.ts). What is simulated: the base image (Debian bookworm + the
// official node 24 binary + this machine's npm); `npm ci` from the npm
// registry, `next build` and the app are real. No backend runs: only the
// routes that need none are requested.
import { expect, it } from 'vitest';
import { describeImage } from './image-suite.ts';

describeImage({
  name: 'frontend',
  uid: 10001,
  health: '/api/health',
  env: {
    HOSTNAME: '127.0.0.1',
    BACKEND_URL: 'http://127.0.0.1:9',
    BETTER_AUTH_SECRET: 'images-test-secret-not-a-real-one-0123456789',
    DEMO_PASSWORD: 'images-test-password',
  },
  budgetMB: 200,
  // No sigtermExit: `buildah run` reports 1 after next's server closes on
  // SIGTERM (it does stop, well within the wait; the graceful check holds).
  extra(get) {
    it('serves the sign-in page and the static assets from .next/static', async () => {
      const { base, files } = get();
      const page = await fetch(`${base}/sign-in`);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<html/i);
      const asset = files.find((f) => /^app\/\.next\/static\/.+\.(js|css)$/.test(f));
      expect(asset).toBeDefined();
      const r = await fetch(`${base}/${asset!.slice('app/'.length).replace(/^\.next/, '_next')}`);
      expect(r.status).toBe(200);
    });

    it('ships only the standalone output: no sources, dev dependencies or build cache', () => {
      const { files } = get();
      expect(files).toContain('app/server.js');
      expect(
        files.filter((f) =>
          /^app\/(src|tests)\/|^app\/\.next\/cache\/.+|^app\/node_modules\/(typescript|vitest|playwright-core)\//.test(
            f,
          ),
        ),
      ).toEqual([]);
      expect(files.filter((f) => /(^|\/)node_modules\//.test(f) && !f.startsWith('app/node_modules/'))).toEqual([]);
    });
  },
});
