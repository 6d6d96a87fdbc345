// One PostgreSQL: the version the chart ships by default (values.yaml's tag) is the one
// every test runs, the real node's stand-in image and the backend's pytest
// (backend-docker/tests/run.sh). The recipe's pin is checked on plain files; the built image
// and run.sh's server where the image store is (root, buildah), else skipped with the reason
// printed; under CI (which builds the image before the tests, .ci/run) never skipped.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  chartPostgresRecipe,
  chartPostgresRef,
  inspectImage,
  oldPostgres,
  postgresVersionIn,
  repoRoot,
  upstreamVersion,
} from '../../scripts/lib/local-cluster/image-builds.ts';
import { backupSettings } from '../../scripts/lib/backup/settings.ts';

const majorMinor = (tag: string) => /^(\d+\.\d+)/.exec(tag)?.[1];
const chartRef = chartPostgresRef();
const chartTag = chartRef.split(':').pop()!;

/** Why the built image cannot be checked here, or undefined when it can. */
async function noImage(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'not root (the image store is root’s)';
  try {
    return (await inspectImage(chartRef)) ? undefined : `${chartRef} is not built yet (test/bed/prebuild-images.ts)`;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}
const missing = await noImage();
// CI builds the image before the tests (.ci/run): there a missing one fails, it is never skipped.
const skipReason = process.env.CI === 'true' ? undefined : missing;
if (skipReason) process.stdout.write(`[postgres-version] image checks skipped: ${skipReason}\n`);
const needImage = () => {
  if (missing) throw new Error(`the image cannot be checked: ${missing}`);
};

describe('one PostgreSQL version, shipped and tested', () => {
  it("the chart's default tag names the stand-in recipe's version and suite", () => {
    expect(chartRef).toBe('docker.io/library/postgres:17.12-trixie');
    expect(majorMinor(chartTag)).toBe(upstreamVersion(chartPostgresRecipe.debVersion));
    expect(chartTag.split('-').pop()).toBe(chartPostgresRecipe.suite);
    expect(upstreamVersion(chartPostgresRecipe.debVersion).split('.')[0]).toBe(chartPostgresRecipe.major);
  });

  it("backup's pg_dump image for an external database is the chart's image (one major for dump and restore)", () => {
    expect(backupSettings.TODO_BACKUP_PG_IMAGE.default).toBe(chartRef);
  });

  it('the old-major image of the upgrade tests is another major', () => {
    expect(oldPostgres.major).not.toBe(chartPostgresRecipe.major);
    expect(oldPostgres.ref).toMatch(new RegExp(`:${oldPostgres.major}-${oldPostgres.suite}$`));
  });

  it("run.sh runs the chart's image through test/bed/postgres-server.ts, not the host's binaries", () => {
    const runSh = fs.readFileSync(path.join(repoRoot, 'backend-docker/tests/run.sh'), 'utf8');
    const code = runSh
      .split('\n')
      .filter((l) => !/^\s*#/.test(l))
      .join('\n');
    expect(code).toMatch(/node --import \S+register\.mjs" test\/bed\/postgres-server\.ts/);
    expect(code).not.toMatch(/\/usr\/lib\/postgresql|initdb|pg_ctl/);
    const helper = fs.readFileSync(path.join(repoRoot, 'test/bed/postgres-server.ts'), 'utf8');
    // The default recipe: the chart's image, no other.
    expect(helper).toMatch(/await ensurePostgresStandin\(\);/);
  });

  it.skipIf(!!skipReason)('the built stand-in says `postgres --version` is the chart tag’s version', async () => {
    needImage();
    expect(await postgresVersionIn(chartRef)).toBe(majorMinor(chartTag));
  });

  it.skipIf(!!skipReason)(
    "run.sh's server (test/bed/postgres-server.ts) is the chart's image and says so",
    async () => {
      needImage();
      const child = spawn(
        process.execPath,
        ['--import', path.join(repoRoot, 'scripts/lib/ts-loader/register.mjs'), 'test/bed/postgres-server.ts'],
        { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((r) => child.on('close', r));
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        void exited.then((code) => reject(new Error(`postgres-server exited ${code} before ready:\n${err}`)));
      });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(line).toMatch(
        new RegExp(
          `^TEST_DATABASE_URL=postgresql://postgres@127\\.0\\.0\\.1:\\d+/todo_test PostgreSQL ${majorMinor(chartTag)!.replace('.', '\\.')} \\(${chartRef.replace(/[.]/g, '\\.')}\\)$`,
        ),
      );
    },
    60_000,
  );
});
