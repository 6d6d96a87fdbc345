// deploy refuses to run another PostgreSQL major on a live volume, and restore
// --data-only is the way's last step: the pure decisions, on the chart as helm
// renders it and on plain data. The way out itself runs on the real node in
// test/real-node/postgres-major.test.ts.
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTools } from '../../scripts/lib/local-cluster/cluster.ts';
import {
  livePostgres,
  postgresMajor,
  postgresMajorChange,
  postgresMajorRefusal,
  postgresOf,
} from '../../scripts/deploy/plan.ts';
import { planRestore, type RestoreObserved } from '../../scripts/lib/backup/restore-plan.ts';
import { Exit } from '../../scripts/lib/kit/errors.ts';
import { helmBin, render } from '../fixtures/chart-helm.ts';

beforeAll(async () => {
  if (!fs.existsSync(helmBin)) await buildTools();
}, 1_800_000);

describe('deploy: the PostgreSQL major of the live data', () => {
  it("finds the chart's StatefulSet, its server image and the backend's pods in the rendered manifest", async () => {
    const set = ['secrets.existingSecret=todo-secrets'];
    const r = await render({ release: 'todo-chatbot', set });
    expect(r.ok, r.stderr).toBe(true);
    expect(postgresOf(r.stdout)).toEqual({
      statefulSet: 'todo-chatbot-postgresql',
      image: 'docker.io/library/postgres:17.12-trixie',
      clients:
        'app.kubernetes.io/name=todo-chatbot,app.kubernetes.io/instance=todo-chatbot,app.kubernetes.io/component=backend',
    });
    const external = await render({
      release: 'todo-chatbot',
      set,
      values: { postgresql: { enabled: false } },
    });
    expect(external.ok, external.stderr).toBe(true);
    expect(postgresOf(external.stdout)).toBeUndefined();
  });

  it.each([
    ['docker.io/library/postgres:17.12-trixie', '17'],
    ['postgres:15-bookworm', '15'],
    ['registry.local:5000/library/postgres:16', '16'],
    ['postgres:9.6.24', '9'],
    ['postgres:17.2@sha256:' + 'a'.repeat(64), '17'],
    ['postgres:latest', undefined],
    ['postgres@sha256:' + 'b'.repeat(64), undefined],
    ['registry.local:5000/postgres', undefined],
  ])('the major of %s is %s', (image, major) => {
    expect(postgresMajor(image)).toBe(major);
  });

  const planned = {
    statefulSet: 'todo-chatbot-postgresql',
    image: 'docker.io/library/postgres:17.12-trixie',
    clients: 'app.kubernetes.io/instance=todo-chatbot,app.kubernetes.io/component=backend',
  };
  const sts = (image: string, claims = true) => ({
    metadata: { name: 'todo-chatbot-postgresql' },
    spec: {
      template: { spec: { containers: [{ name: 'postgresql', image }] } },
      ...(claims ? { volumeClaimTemplates: [{ metadata: { name: 'data' } }] } : {}),
    },
  });

  it("the live StatefulSet's image and its first pod's claim; none for data in an emptyDir", () => {
    expect(livePostgres(sts('postgres:15-bookworm'))).toEqual({
      image: 'postgres:15-bookworm',
      claim: 'data-todo-chatbot-postgresql-0',
    });
    expect(livePostgres(sts('postgres:15-bookworm', false))).toEqual({ image: 'postgres:15-bookworm' });
    expect(livePostgres(undefined)).toBeUndefined();
  });

  it('a change of major on a volume is found; the same major, no live StatefulSet, an emptyDir or a tag without a major is not', () => {
    expect(postgresMajorChange(livePostgres(sts('docker.io/library/postgres:15-bookworm')), planned)).toMatchObject({
      from: '15',
      to: '17',
      claim: 'data-todo-chatbot-postgresql-0',
    });
    expect(postgresMajorChange(livePostgres(sts('docker.io/library/postgres:17.2-bookworm')), planned)).toBeUndefined();
    expect(postgresMajorChange(undefined, planned)).toBeUndefined();
    expect(postgresMajorChange(livePostgres(sts('postgres:15-bookworm', false)), planned)).toBeUndefined();
    expect(postgresMajorChange(livePostgres(sts('postgres:15')), undefined)).toBeUndefined();
    expect(postgresMajorChange(livePostgres(sts('my/postgres:latest')), planned)).toBeUndefined();
  });

  it('the refusal: exit 2, one line, and a hint of commands in the order the way out needs', () => {
    const change = postgresMajorChange(livePostgres(sts('docker.io/library/postgres:15-bookworm')), planned)!;
    const e = postgresMajorRefusal(change, {
      namespace: 'todo',
      kubectlFlags: ['--context', 'kind-x'],
      deployArgs: ['--image', 'backend=todo-chatbot-backend:abc', '-f', 'my values.yaml'],
    });
    expect(e.code).toBe(Exit.usage);
    expect(e.message).not.toContain('\n');
    expect(e.message).toMatch(/PostgreSQL 15 .*PostgreSQL 17 .*nothing changed$/);
    expect(e.hint).toBe(
      'back up with 15, deploy 17 on a fresh volume, load the backup: npx zx ops/backup.ts' +
        ' && kubectl --context kind-x -n todo delete statefulset/todo-chatbot-postgresql pvc/data-todo-chatbot-postgresql-0' +
        ' && kubectl --context kind-x -n todo delete pod -l app.kubernetes.io/instance=todo-chatbot,app.kubernetes.io/component=backend' +
        " && npx zx scripts/deploy.ts --image backend=todo-chatbot-backend:abc -f 'my values.yaml'" +
        ' && npx zx ops/restore.ts latest --data-only --yes',
    );
  });
});

describe('restore --data-only', () => {
  const base: RestoreObserved = {
    source: 'todo',
    target: 'todo',
    release: 'todo-chatbot',
    namespaceExists: true,
    existing: ['Deployment/todo-chatbot-backend'],
    objects: 20,
    db: { rows: 0, tables: 3 },
    hasDump: true,
    deployments: { 'todo-chatbot-backend': 1, 'todo-chatbot-frontend': 2 },
    verify: false,
    force: false,
    dataOnly: true,
  };

  it("stops the release's Deployments, loads the dump and starts them again; no object is applied", () => {
    expect(planRestore(base).map((a) => a.params!.kind)).toEqual(['stop', 'database', 'start']);
    expect(planRestore(base)[0]!.params).toEqual({
      kind: 'stop',
      deployments: ['todo-chatbot-backend', 'todo-chatbot-frontend'],
    });
  });

  it('needs a running PostgreSQL of the release and a dump; rows are replaced only with --force', () => {
    expect(() => planRestore({ ...base, db: undefined })).toThrow(/has none/);
    expect(() => planRestore({ ...base, hasDump: false })).toThrow(/no database dump/);
    expect(() => planRestore({ ...base, db: { rows: 5, tables: 3 } })).toThrow(/refusing to overwrite/);
    expect(planRestore({ ...base, db: { rows: 5, tables: 3 }, force: true })[1]!.destructive).toBe(true);
  });
});
