// The checks every built image gets (frontend.test.ts, backend.test.ts): it
// builds from the repo's Dockerfile, starts as its non-root USER on loopback
// and answers its health endpoint, stops on SIGTERM, and its runtime
// filesystem holds no compiler, package manager, cache or test file.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildApp,
  buildah,
  compressedSize,
  descendants,
  ensureStandins,
  inspectImage,
  layerSizes,
  listFiles,
  recordTiming,
  startImage,
  waitHealthy,
  withRootfs,
  type AppName,
  type ImageInfo,
  type Running,
} from '../../scripts/lib/local-cluster/image-builds.ts';
import { freePort } from '../../scripts/lib/local-cluster/net.ts';

export interface ImageSpec {
  name: AppName;
  uid: number;
  health: string;
  /** env the app needs to start (never real secrets) */
  env: Record<string, string>;
  /** the required uncompressed size budget */
  budgetMB: number;
  /** more tests against the running container: get() gives its base URL and the image's files */
  extra?: (get: () => { base: string; files: string[] }) => void;
  /** exit status `buildah run` reports after SIGTERM, where it is stable (uvicorn: 0) */
  sigtermExit?: number;
}

const MB = 1024 * 1024;

const forbiddenInRuntime: [string, RegExp][] = [
  ['a compiler', /(^|\/)(gcc|cc|c\+\+|g\+\+|clang|tcc|cpp|x86_64-linux-gnu-gcc[^/]*)$|(^|\/)(gcc|clang)(-\d+)?$/],
  [
    'a package manager',
    /(^|\/)usr\/(local\/)?bin\/(apt|apt-get|dpkg|pip\d*(\.\d+)?|npm|npx|yarn|corepack)$|(^|\/)(site-packages|node_modules)\/(pip|setuptools|npm)\/$/,
  ],
  ['a shell', /^(usr\/)?bin\/(sh|bash|dash)$/],
  [
    'a package-manager cache',
    /^var\/cache\/apt\/.+|^var\/lib\/apt\/lists\/.+|^root\/\.(npm|cache)\/|(^|\/)\.npm\/_cacache\/|(^|\/)\.cache\/pip\//,
  ],
  [
    'a test file',
    /(^|\/)(tests?|__tests__)\/$|(\.(test|spec)\.[cm]?[jt]sx?$)|(^app\/.*(^|\/)test_[^/]*\.py$)|((^|\/)conftest\.py$)/,
  ],
  ['an .env file', /(^|\/)\.env(\.[^/]*)?$/],
  ['source control', /(^|\/)\.git\//],
];

export function describeImage(spec: ImageSpec): void {
  describe(`${spec.name} image (buildah, stand-in base)`, () => {
    let ref = '';
    let info: ImageInfo;
    let files: string[] = [];

    beforeAll(async () => {
      const standins = await ensureStandins();
      for (const [k, s] of Object.entries(standins.seconds)) if (s > 0) recordTiming(`stand-in ${k} created`, s);
      const built = await buildApp(spec.name, standins);
      recordTiming(`build ${spec.name}`, built.seconds, { log: built.log });
      ref = built.ref;
      info = (await inspectImage(ref))!;
      files = await withRootfs(ref, (root) => listFiles(root));
    });

    it(`runs as the numeric non-root uid ${spec.uid}, exec-form command, SIGTERM, HEALTHCHECK on the probe path`, () => {
      expect(info.user).toBe(`${spec.uid}:${spec.uid}`);
      expect(info.cmd[0]).not.toMatch(/sh$/);
      expect(info.stopSignal).toBe('SIGTERM');
      expect(info.healthcheck?.[0]).toBe('CMD');
      expect(info.env).toContain(`HEALTHCHECK_PATH=${spec.health}`);
    });

    it('carries the OCI labels from the build args', () => {
      expect(info.labels).toMatchObject({
        'org.opencontainers.image.title': `todo-chatbot-${spec.name}`,
        'org.opencontainers.image.revision': 'images-test',
        'org.opencontainers.image.version': 'images-test',
        'org.opencontainers.image.source': 'https://example.invalid/todo-chatbot',
      });
      expect(info.labels).toHaveProperty('org.opencontainers.image.created');
    });

    it.each(forbiddenInRuntime)('its runtime filesystem holds no %s', (_what, re) => {
      expect(files.filter((f) => re.test(f))).toEqual([]);
    });

    it(`fits the ${spec.budgetMB} MB budget (own layers: FROM scratch, so all of them)`, async () => {
      const layers = layerSizes(info);
      const total = layers.reduce((s, l) => s + l.bytes, 0);
      const compressed = await compressedSize(ref);
      recordTiming(`size ${spec.name}`, 0, {
        layersMB: layers.map((l) => +(l.bytes / MB).toFixed(1)),
        totalMB: +(total / MB).toFixed(1),
        compressedMB: +(compressed / MB).toFixed(1),
      });
      expect(layers.every((l) => Number.isFinite(l.bytes))).toBe(true);
      expect(total / MB).toBeLessThan(spec.budgetMB);
    });

    describe('started with buildah run on 127.0.0.1', () => {
      let running: Running | undefined;
      let stopped = false;
      let base = '';
      let port = 0;

      beforeAll(async () => {
        port = await freePort();
        base = `http://127.0.0.1:${port}`;
        running = await startImage(ref, { ...spec.env, PORT: String(port) });
        const h = await waitHealthy(`${base}${spec.health}`, running);
        recordTiming(`${spec.name} healthy after start`, h.ms / 1000);
      });
      afterAll(async () => {
        if (running && !stopped) await running.stop(5_000);
      });

      it(`answers ${spec.health} with 200`, async () => {
        const r = await fetch(`${base}${spec.health}`);
        expect(r.status).toBe(200);
      });

      it(`the app process runs as uid ${spec.uid}`, () => {
        const procs = appProcesses(running!);
        expect(
          procs.some((p) => p.argv.includes(info.cmd.at(-1)!)),
          JSON.stringify(procs),
        ).toBe(true);
        for (const p of procs) expect(p.uid, p.argv.join(' ')).toBe(spec.uid);
      });

      it("the image's own HEALTHCHECK command passes against it", async () => {
        const ctr = (await buildah(['from', '--pull=never', ref])).stdout.trim().split('\n').pop()!;
        try {
          const r = await buildah(
            [
              'run',
              '--isolation',
              'chroot',
              '--network',
              'host',
              '--env',
              `PORT=${port}`,
              ctr,
              '--',
              ...info.healthcheck!.slice(1),
            ],
            { check: false, timeoutMs: 30_000 },
          );
          expect(r.code, r.stderr).toBe(0);
        } finally {
          await buildah(['rm', ctr], { check: false });
        }
      });

      spec.extra?.(() => ({ base, files }));

      it('stops by itself on SIGTERM (graceful shutdown, no SIGKILL needed)', async () => {
        const s = await running!.stop(20_000);
        stopped = true;
        recordTiming(`${spec.name} stop after SIGTERM`, s.ms / 1000, { code: s.code });
        expect(s.graceful).toBe(true);
        if (spec.sigtermExit !== undefined) expect(s.code).toBe(spec.sigtermExit);
      });
    });
  });
}

/**
 * Real uids (from /proc) of the processes below `buildah run` that are not
 * buildah's own root helpers (the run command itself and buildah-chroot-runtime,
 * which drop to the image's USER for what they start). Also the app's argv, so
 * a test can see it is looking at the app and not at an empty tree.
 */
function appProcesses(running: Running): { uid: number; argv: string[] }[] {
  return descendants(running.child.pid!).flatMap((pid) => {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (['buildah', 'buildah-chroot-runtime'].includes(path.basename(argv[0] ?? ''))) return [];
      const uid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
      return [{ uid, argv }];
    } catch {
      return []; // exited meanwhile
    }
  });
}
