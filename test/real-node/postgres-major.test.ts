// A release whose volume PostgreSQL 15 initialised, on the bed's real node, meets
// the chart's PostgreSQL 17: deploy refuses (exit 2, the cluster unchanged), and
// the way out it prints, run as printed (backup with 15, a fresh volume for 17,
// restore --data-only), brings every row back into 17 with the app serving.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { V1Pod, V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recycleVolumes } from '../../scripts/lib/local-cluster/cluster.ts';
import {
  chartPostgresRecipe,
  chartPostgresRef,
  ensurePostgresStandin,
  oldPostgres,
  upstreamVersion,
} from '../../scripts/lib/local-cluster/image-builds.ts';
import { importImages } from '../../scripts/lib/local-cluster/images.ts';
import { paths } from '../../scripts/lib/local-cluster/node.ts';
import { appApi } from '../helpers/app.ts';
import { bedEnv, kube, sh } from '../helpers/cluster.ts';
import { makeEnvDir } from '../helpers/env-dir.ts';
import { assertFailure, assertSuccess, repoRoot, run, runLine, scratchEnv } from '../helpers/run.ts';

const bedValues = path.join(repoRoot, 'scripts/lib/local-cluster/values-realnode.yaml');
const release = 'pgm';
const user = 'user-pg-major';

interface Doc {
  exitCode: number;
  error?: { message: string; hint?: string };
}
interface TaskRead {
  id: number;
  title: string;
}

describe("a PostgreSQL 15 release meets the chart's 17 on the real node", () => {
  const ns = `pg-major-${process.pid}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-pg-major-'));
  const oldValues = path.join(tmp, 'postgres-15.yaml');
  let env: NodeJS.ProcessEnv;
  const deploy = (...files: string[]) =>
    run('scripts/deploy.ts', ['-o', 'json', ...files.flatMap((f) => ['-f', f])], { env, timeoutMs: 300_000 });
  /** SQL in the PostgreSQL pod as the chart's user (local socket, trusted inside the pod). */
  const psql = async (query: string) =>
    (
      await sh()`kubectl exec -n ${ns} ${release}-postgresql-0 -c postgresql -- psql -X -At -U todo -d todo -c ${query}`
    ).stdout.trim();
  const pgState = async () => {
    const k = kube();
    const sts = await k.read<V1StatefulSet>('apps/v1', 'StatefulSet', `${release}-postgresql`, ns);
    const pod = await k.read<V1Pod>('v1', 'Pod', `${release}-postgresql-0`, ns);
    const records = await k.list<V1Secret>('v1', 'Secret', ns, `owner=helm,name=${release}`);
    return {
      image: sts?.spec?.template.spec?.containers[0]?.image,
      stsVersion: sts?.metadata?.resourceVersion,
      pod: pod?.metadata?.uid,
      revisions: records.length,
    };
  };

  beforeAll(async () => {
    const old = await ensurePostgresStandin(oldPostgres);
    await importImages(paths.containerdSock, [{ ref: old.ref, what: `PostgreSQL ${old.version} stand-in` }], (m) =>
      process.stdout.write(`[pg-major] ${m}\n`),
    );
    await recycleVolumes();
    const envDir = makeEnvDir(tmp, {
      // A volume that outlives the pod (the bed's local volumes): what a major change could break.
      values:
        'backend:\n  autoscaling:\n    enabled: false\nfrontend:\n  autoscaling:\n    enabled: false\n' +
        'postgresql:\n  persistence:\n    enabled: true\n',
    });
    fs.writeFileSync(oldValues, `postgresql:\n  image:\n    tag: "${oldPostgres.ref.split(':').pop()}"\n`);
    env = {
      ...bedEnv(),
      ...scratchEnv({
        TODO_ENV_DIR: envDir,
        TODO_NAMESPACE: ns,
        TODO_RELEASE: release,
        TODO_TIMEOUT: '150',
        TODO_DEPLOY_SETTLE: '0',
      }),
    };
    assertSuccess(await deploy(bedValues, oldValues));
  }, 600_000);
  afterAll(async () => {
    // Gone with its claims first: only then are both volumes (15's and 17's) Released for the pool.
    await sh()`kubectl delete namespace ${ns} --wait=true --timeout=180s --ignore-not-found`;
    await recycleVolumes();
  }, 240_000);

  it('deploy refuses with the cluster unchanged; the printed way out runs as printed and every row reaches 17', async () => {
    const t0 = Date.now();
    expect(await psql('SHOW server_version')).toMatch(new RegExp(`^${upstreamVersion(oldPostgres.debVersion)} `));
    const titles = ['buy milk', 'file taxes', 'call the plumber'];
    const api = await appApi(ns, release, user);
    for (const title of titles) expect((await api.call('POST', '/tasks', { title })).status).toBe(201);
    await api.close();
    const before = await pgState();
    expect(before.image).toBe(oldPostgres.ref);

    // The chart's default (17) over the 15 volume: refused, nothing changed.
    const refused = await deploy(bedValues);
    assertFailure(refused, 2);
    const doc = refused.json<Doc>();
    expect(doc.error!.message).toMatch(
      new RegExp(`PostgreSQL ${oldPostgres.major} .*PostgreSQL ${chartPostgresRecipe.major} .*nothing changed$`),
    );
    expect(await pgState()).toEqual(before);

    // The way out, exactly as printed.
    const hint = doc.error!.hint!;
    const line = hint.slice(hint.indexOf(': ') + 2);
    expect(line).toMatch(/^npx zx ops\/backup\.ts && kubectl .* && npx zx ops\/restore\.ts latest --data-only --yes$/);
    const t1 = Date.now();
    assertSuccess(await runLine(line, { env, timeoutMs: 900_000 }));
    const wayOut = (Date.now() - t1) / 1000;

    // 17 on a fresh volume (its PG_VERSION says so), the rows back, the app serving them.
    const after = await pgState();
    expect(after.image).toBe(chartPostgresRef());
    expect(after.pod).not.toBe(before.pod);
    expect(await psql('SHOW server_version')).toMatch(
      new RegExp(`^${upstreamVersion(chartPostgresRecipe.debVersion)} `),
    );
    expect(
      (
        await sh()`kubectl exec -n ${ns} ${release}-postgresql-0 -c postgresql -- sh -c ${'cat "$PGDATA/PG_VERSION"'}`
      ).stdout.trim(),
    ).toBe(chartPostgresRecipe.major);
    const api2 = await appApi(ns, release, user);
    const tasks = await api2.call<TaskRead[]>('GET', '/tasks');
    expect(tasks.status).toBe(200);
    expect(tasks.body.map((t) => t.title).sort()).toEqual([...titles].sort());
    // And it writes: a task created on 17 is listed.
    expect((await api2.call('POST', '/tasks', { title: 'on seventeen' })).status).toBe(201);
    expect((await api2.call<TaskRead[]>('GET', '/tasks')).body).toHaveLength(titles.length + 1);
    await api2.close();
    // A deploy now has nothing to refuse (and nothing to do).
    assertSuccess(await deploy(bedValues));
    process.stdout.write(
      `[pg-major] way out (backup, fresh volume, deploy, restore --data-only): ${wayOut.toFixed(1)} s; whole test ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
  }, 900_000);
});
