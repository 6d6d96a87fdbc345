// The pure parts of backup and restore: archive checks (on real files in a temp
// directory), encryption, retention, object cleaning and remapping, the restore plan.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  ArchiveWriter,
  checkParts,
  decrypt,
  encrypt,
  expired,
  listArchives,
  openArchive,
  readManifest,
  removeStalePartials,
  type ArchiveInfo,
} from '../../scripts/lib/backup/archive.ts';
import { clean, heldAtZero, remap, selectObjects, type Obj } from '../../scripts/lib/backup/objects.ts';
import { parseCounts } from '../../scripts/lib/backup/db.ts';
import { redactValues } from '../../ops/backup/run.ts';
import { compareCounts, planRestore, type RestoreObserved } from '../../scripts/lib/backup/restore-plan.ts';
import { decodeHelmRecord } from '../../scripts/lib/release/history.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-backup-'));
const meta = {
  createdAt: '2026-11-27T10:00:00.000Z',
  context: 'c',
  namespace: 'todo',
  release: 'todo-chatbot',
  revision: 3,
  chart: 'todo-chatbot-0.1.0',
  objects: { Deployment: 2 },
  releaseRecords: 0,
  secrets: { mode: 'excluded' as const, names: [] },
  database: null,
};

async function archive(): Promise<string> {
  const w = new ArchiveWriter(tmp(), 'todo-chatbot-x');
  w.write('objects.json', '[]\n');
  w.write('db.dump', Buffer.alloc(4096, 7));
  return (await w.finish(meta)).dir;
}

describe('archive', () => {
  it('is renamed into place only when complete, with every part checksummed', async () => {
    const dir = await archive();
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['todo-chatbot-x']);
    const m = await openArchive(dir);
    expect(m.parts.map((p) => [p.name, p.bytes])).toEqual([
      ['db.dump', 4096],
      ['objects.json', 3],
    ]);
  });

  it('a discarded archive leaves nothing that looks like one', () => {
    const dest = tmp();
    const w = new ArchiveWriter(dest, 'todo-chatbot-y');
    w.write('db.dump', 'partial');
    expect(listArchives(dest)).toEqual([]);
    w.discard();
    expect(fs.readdirSync(dest)).toEqual([]);
  });

  it("a killed run's partial directory is removed by the next run; a live one is left", () => {
    const dest = tmp();
    fs.mkdirSync(path.join(dest, '.partial-r-20261127T000000.000Z-999999999'));
    fs.mkdirSync(path.join(dest, `.partial-r-20261127T000000.000Z-${process.ppid}`));
    expect(removeStalePartials(dest)).toEqual(['.partial-r-20261127T000000.000Z-999999999']);
    expect(fs.readdirSync(dest)).toEqual([`.partial-r-20261127T000000.000Z-${process.ppid}`]);
  });

  it('names a flipped byte, a truncated part, a missing part and a stray file', async () => {
    const dir = await archive();
    const m = readManifest(dir);
    const dump = path.join(dir, 'db.dump');
    const buf = fs.readFileSync(dump);
    buf[100] = buf[100]! ^ 1;
    fs.writeFileSync(dump, buf);
    expect(await checkParts(dir, m)).toEqual([
      { part: 'db.dump', problem: expect.stringMatching(/^SHA-256 .* the manifest says/) },
    ]);
    fs.truncateSync(dump, 1000);
    expect(await checkParts(dir, m)).toEqual([
      { part: 'db.dump', problem: '1000 bytes, the manifest says 4096 (truncated or changed)' },
    ]);
    fs.rmSync(path.join(dir, 'objects.json'));
    fs.writeFileSync(path.join(dir, 'extra'), 'x');
    expect((await checkParts(dir, m)).map((p) => `${p.part}: ${p.problem}`)).toEqual(
      expect.arrayContaining(['objects.json: missing', 'extra: not in the manifest']),
    );
    await expect(openArchive(dir)).rejects.toMatchObject({ code: 1, message: expect.stringContaining('refused') });
  });

  it('a manifest edited without its own checksum is refused', async () => {
    const dir = await archive();
    const file = path.join(dir, 'manifest.json');
    const m = JSON.parse(fs.readFileSync(file, 'utf8'));
    m.parts[0].bytes = 4095;
    fs.writeFileSync(file, JSON.stringify(m));
    expect(() => readManifest(dir)).toThrow(/changed after the backup/);
  });

  it('secrets round-trip through encryption; a wrong passphrase is a usage error', () => {
    const sealed = encrypt(Buffer.from('{"a":1}'), 'pass-one');
    expect(sealed.includes(Buffer.from('"a"'))).toBe(false);
    expect(decrypt(sealed, 'pass-one').toString()).toBe('{"a":1}');
    expect(() => decrypt(sealed, 'pass-two')).toThrow(/wrong TODO_BACKUP_PASSPHRASE/);
  });
});

describe('retention', () => {
  const a = (name: string, createdAt: string, release = 'r'): ArchiveInfo => ({
    name,
    dir: `/x/${name}`,
    createdAt,
    release,
  });
  const now = new Date('2026-11-27T12:00:00Z');
  const list = [
    a('a1', '2026-11-01T00:00:00Z'),
    a('a2', '2026-11-20T00:00:00Z'),
    a('a3', '2026-11-26T00:00:00Z'),
    a('a4', '2026-11-27T11:00:00Z'),
    a('other', '2026-01-01T00:00:00Z', 'q'),
  ];
  it('keeps the newest N of the release', () =>
    expect(expired(list, 'r', { keep: 2, maxAgeSec: 0 }, now).map((x) => x.name)).toEqual(['a2', 'a1']));
  it('deletes those older than the max age', () =>
    expect(expired(list, 'r', { keep: 0, maxAgeSec: 3 * 86400 }, now).map((x) => x.name)).toEqual(['a2', 'a1']));
  it('either limit expires an archive', () =>
    expect(expired(list, 'r', { keep: 3, maxAgeSec: 10 * 86400 }, now).map((x) => x.name)).toEqual(['a1']));
  it('never the newest, even when it is past the max age; no limits: nothing', () => {
    expect(expired(list, 'r', { keep: 0, maxAgeSec: 60 }, now).map((x) => x.name)).toEqual(['a3', 'a2', 'a1']);
    expect(expired(list, 'r', { keep: 0, maxAgeSec: 0 }, now)).toEqual([]);
  });
});

describe('objects', () => {
  const svc: Obj = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 's',
      namespace: 'todo',
      uid: 'u',
      resourceVersion: '9',
      creationTimestamp: 'x',
      managedFields: [],
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': '{}',
        'meta.helm.sh/release-namespace': 'todo',
      },
    },
    spec: { clusterIP: '10.0.0.5', clusterIPs: ['10.0.0.5'], ports: [{ port: 80, nodePort: 30001 }] },
    status: { loadBalancer: {} },
  };
  it('cleans runtime fields and allocated addresses', () => {
    expect(clean(svc)).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's', namespace: 'todo', annotations: { 'meta.helm.sh/release-namespace': 'todo' } },
      spec: { ports: [{ port: 80 }] },
    });
    const headless = clean({ ...svc, spec: { clusterIP: 'None', clusterIPs: ['None'], ports: [] } });
    expect((headless.spec as { clusterIP: string }).clusterIP).toBe('None');
  });
  it('leaves out what the cluster makes itself, sorts in restore order', () => {
    const got = selectObjects([
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'b' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt' } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 't' }, type: 'kubernetes.io/service-account-token' },
      { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'owned', ownerReferences: [{}] } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app' } },
    ]);
    expect(got.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Secret/app', 'Deployment/b']);
  });
  it('remaps to another namespace, helm records included; holds Deployments at 0', () => {
    const rec = {
      name: 'r',
      namespace: 'todo',
      version: 1,
      info: { status: 'deployed' },
      manifest: 'kind: Service\nmetadata:\n  name: s\n  namespace: todo\n  labels: {}\n',
    };
    const data = Buffer.from(zlib.gzipSync(Buffer.from(JSON.stringify(rec))).toString('base64')).toString('base64');
    const helm: Obj = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'helm.sh/release.v1',
      metadata: { name: 'sh.helm.release.v1.r.v1', namespace: 'todo' },
      data: { release: data },
    };
    const [s, h] = remap([clean(svc), helm], 'todo', 'copy');
    expect(s!.metadata).toMatchObject({ namespace: 'copy', annotations: { 'meta.helm.sh/release-namespace': 'copy' } });
    const back = decodeHelmRecord((h as unknown as { data: { release: string } }).data.release) as typeof rec;
    expect(back.namespace).toBe('copy');
    expect(back.manifest).toContain('  namespace: copy\n');
    const dep: Obj = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 3 } };
    expect(heldAtZero([dep])[0]!.spec).toEqual({ replicas: 0 });
    expect(dep.spec).toEqual({ replicas: 3 });
  });
  it('redacts credentials in values, keeps names of Secrets', () => {
    expect(
      redactValues({
        secrets: { betterAuthSecret: 'x', existingSecret: 'app' },
        externalDatabase: { url: 'postgres://u:p@h/d' },
        replicaCount: 2,
      }),
    ).toEqual({
      secrets: { betterAuthSecret: '<redacted>', existingSecret: 'app' },
      externalDatabase: { url: '<redacted>' },
      replicaCount: 2,
    });
  });
});

describe('database output', () => {
  it('parses psql row counts', () =>
    expect(parseCounts('snap:0-1\nrows:public.task=10000\nrows:public.message=4\nend:counts\n')).toEqual({
      'public.task': 10000,
      'public.message': 4,
    }));
});

describe('restore plan', () => {
  const base: RestoreObserved = {
    source: 'todo',
    target: 'copy',
    release: 'r',
    namespaceExists: false,
    existing: [],
    objects: 20,
    hasDump: true,
    deployments: { 'r-backend': 2 },
    verify: false,
    force: false,
  };
  it('a new namespace: create, apply (Deployments at 0), load, start', () => {
    expect(planRestore(base).map((a) => [a.what, !!a.destructive])).toEqual([
      ['create namespace', false],
      ['apply objects', false],
      ['load database', false],
      ['start app', false],
    ]);
  });
  it('refuses to load over rows without --force, with nothing planned', () => {
    expect(() => planRestore({ ...base, namespaceExists: true, db: { rows: 5, tables: 3 } })).toThrow(
      /holds 5 rows in 3 tables: refusing/,
    );
    const forced = planRestore({
      ...base,
      namespaceExists: true,
      db: { rows: 5, tables: 3 },
      existing: ['Deployment/r-backend'],
      force: true,
    });
    expect(forced.filter((a) => a.destructive).map((a) => a.what)).toEqual(['apply objects', 'load database']);
  });
  it('empty tables are no data; a verify never starts the app and deletes its namespace', () => {
    expect(planRestore({ ...base, namespaceExists: true, db: { rows: 0, tables: 3 } }).map((a) => a.what)).toEqual([
      'apply objects',
      'load database',
      'start app',
    ]);
    expect(planRestore({ ...base, verify: true }).map((a) => a.what)).toEqual([
      'create namespace',
      'apply objects',
      'load database',
      'delete namespace',
    ]);
  });
  it('compares counts both ways', () => {
    expect(compareCounts({ task: 3, message: 2 }, { task: 3, message: 2 }, 'rows in')).toEqual([]);
    expect(compareCounts({ task: 3 }, { task: 2, extra: 1 }, 'rows in')).toEqual([
      'rows in extra: 1, the manifest says 0',
      'rows in task: 2, the manifest says 3',
    ]);
  });
});
