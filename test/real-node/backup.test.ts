// backup and restore on the bed's real node, against the real PostgreSQL pod and
// the real app: one release installed in beforeAll, then backups taken while
// the app is written to, restores into another namespace and (after deleting
// it) into the release's own, a verify that leaves nothing behind, damaged
// archives refused with the cluster unchanged, retention, and the lock.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { V1Namespace, V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedEnv, deleteNamespace, kube, sh, tempNamespace } from '../helpers/cluster.ts';
import { appApi as releaseApi } from '../helpers/app.ts';
import { makeEnvDir } from '../helpers/env-dir.ts';
import { assertFailure, assertSuccess, repoRoot, run, scratchEnv } from '../helpers/run.ts';
import { manifestChecksum, openArchive, type Manifest } from '../../scripts/lib/backup/archive.ts';
import { kinds } from '../../scripts/lib/backup/objects.ts';
import { execInPod } from '../../scripts/lib/kube/exec.ts';
import { acquireLock } from '../../scripts/lib/kit/lock.ts';

const bedValues = path.join(repoRoot, 'scripts/lib/local-cluster/values-realnode.yaml');
const release = 'bk';
const user = 'user-backup-test';

interface Doc {
  exitCode: number;
  actions: { what: string; target: string; status: string; detail?: string }[];
  findings: { name: string; level: string; detail: string }[];
  data: Record<string, any>;
  error?: { message: string };
}
interface TaskRead {
  id: number;
  title: string;
  completed: boolean;
}

/** The app's REST API through a port-forward to the backend Service on 127.0.0.1. */
const appApi = (ns: string) => releaseApi(ns, release, user);

/** SQL in the release's PostgreSQL pod of a namespace, password from the container's own env. */
async function sql(ns: string, query: string): Promise<string> {
  const r = await execInPod(kube(), {
    namespace: ns,
    pod: `${release}-postgresql-0`,
    container: 'postgresql',
    command: [
      'sh',
      '-c',
      'PGPASSWORD="$POSTGRES_PASSWORD" exec psql -X -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"',
    ],
    stdin: query,
    timeoutSec: 60,
  });
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout.trim();
}

/** Every object of the backed-up kinds in a namespace with its resourceVersion, and the tasks' rows: what "unchanged" means. */
async function snapshotOf(ns: string): Promise<string[]> {
  const k = kube();
  const objs = (
    await Promise.all(
      kinds.map((x) =>
        k
          .list(x.apiVersion, x.kind, ns)
          .then((l) => l.map((o) => `${x.kind}/${o.metadata!.name}@${o.metadata!.resourceVersion}`)),
      ),
    )
  ).flat();
  return [...objs.sort(), `tasks=${await sql(ns, 'SELECT count(*) FROM task')}`];
}

const gone = (ns: string) =>
  kube().waitFor<V1Namespace>({
    apiVersion: 'v1',
    kind: 'Namespace',
    fieldSelector: `metadata.name=${ns}`,
    timeoutSec: 120,
    done: (l) => l.length === 0,
  });

describe('backup and restore of a release on the real node', () => {
  const ns = `backup-${process.pid}`;
  const copyNs = `${ns}-copy`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-backup-'));
  let env: NodeJS.ProcessEnv;
  let roundTrip = ''; // the archive of the API round trip, damaged copies of it below
  const backup = (...args: string[]) => run('ops/backup.ts', ['-o', 'json', ...args], { env, timeoutMs: 240_000 });
  const restore = (...args: string[]) => run('ops/restore.ts', ['-o', 'json', ...args], { env, timeoutMs: 240_000 });

  beforeAll(async () => {
    const envDir = makeEnvDir(tmp, {
      values: 'backend:\n  autoscaling:\n    enabled: false\nfrontend:\n  autoscaling:\n    enabled: false\n',
      // The secrets file: where the passphrase lives.
      envLocal: `TODO_BACKUP_PASSPHRASE=${createHash('sha256').update(tmp).digest('hex')}\n`,
    });
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
    assertSuccess(await run('scripts/deploy.ts', ['-f', bedValues], { env, timeoutMs: 300_000 }));
  }, 320_000);
  afterAll(async () => {
    await Promise.all([deleteNamespace(ns), deleteNamespace(copyNs)]);
  });

  it('a backup taken while the app is written to restores into another namespace, whole turns only, the original serving throughout; retention deletes exactly the expired archives', async () => {
    // Retention: archives of earlier runs (only their manifests matter to it), one of another release.
    const dir = path.join(tmp, 'archives');
    const fake = (name: string, daysAgo: number, rel = release) => {
      fs.mkdirSync(path.join(dir, name), { recursive: true });
      fs.writeFileSync(
        path.join(dir, name, 'manifest.json'),
        JSON.stringify({
          format: 'todo-chatbot-backup/1',
          release: rel,
          createdAt: new Date(Date.now() - daysAgo * 86_400_000).toISOString(),
        }),
      );
    };
    fake('d1', 1);
    fake('d2', 2);
    fake('d3', 3);
    fake('old', 40);
    fake('other-old', 40, 'other');

    const api = await appApi(ns);
    let writes = 0;
    let stop = false;
    let failed = 0;
    // A bounded loop of chat turns (each stores two messages in one transaction) until the backup is done.
    const writer = (async () => {
      for (let i = 0; i < 400 && !stop; i++) {
        const r = await api.call<{ conversation_id: number }>('POST', '/chat', { message: `add write ${i}` });
        if (r.status === 200) writes++;
        else failed++;
      }
    })();
    await new Promise<void>((resolve) => {
      const t = setInterval(() => writes >= 5 && (clearInterval(t), resolve()), 50);
    });
    const atStart = writes;
    const r = await backup('--dir', dir, '--keep', '3', '--max-age', '30d');
    const atEnd = writes;
    stop = true;
    await writer;
    assertSuccess(r);
    const doc = r.json<Doc>();
    expect(atEnd).toBeGreaterThan(atStart); // turns were committed while the backup ran
    expect(failed).toBe(0);
    const archive = doc.data.archive as string;
    const m = JSON.parse(fs.readFileSync(path.join(archive, 'manifest.json'), 'utf8')) as Manifest;
    expect(m.secrets.mode).toBe('excluded');
    expect(fs.existsSync(path.join(archive, 'secrets.enc'))).toBe(false);
    expect(m.database!.tables['public.message']).toBeGreaterThanOrEqual(10);
    expect(m.database!.tables['public.message']! % 2).toBe(0);
    // Retention: beyond the newest 3 (the new one, d1, d2), and old by age too; never another release's.
    expect(fs.readdirSync(dir).sort()).toEqual([path.basename(archive), 'd1', 'd2', 'other-old'].sort());
    expect(
      doc.actions
        .filter((a) => a.what === 'delete expired archive')
        .map((a) => a.target)
        .sort(),
    ).toEqual(['d3', 'old']);

    // Into another namespace: the archive has no Secrets, so they are put there first (as the restore asks).
    await kube().apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: copyNs, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
    });
    for (const s of m.secrets.names) {
      const live = (await kube().read<V1Secret>('v1', 'Secret', s.name, ns))!;
      await kube().apply({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: s.name, namespace: copyNs },
        type: live.type,
        data: live.data,
      } as V1Secret);
    }
    const rr = await restore(archive, '--to-namespace', copyNs);
    assertSuccess(rr);
    const rd = rr.json<Doc>();
    expect(rd.findings.filter((f) => f.level !== 'ok')).toEqual([]);
    expect(rd.data.restored.tables).toEqual(m.database!.tables);
    // The original kept serving, with everything written after the backup.
    const after = await api.call<TaskRead[]>('GET', '/tasks');
    expect(after.status).toBe(200);
    expect(after.body.length).toBe(Number(await sql(ns, 'SELECT count(*) FROM task')));
    expect(after.body.length).toBeGreaterThanOrEqual(m.database!.tables['public.task']!);
    await api.close();
    // The copy: every conversation holds whole turns (user + assistant), and its app serves the backed-up tasks.
    expect(
      await sql(
        copyNs,
        'SELECT count(*) FROM (SELECT conversation_id FROM message GROUP BY 1 HAVING count(*) % 2 <> 0) odd',
      ),
    ).toBe('0');
    expect(await sql(copyNs, "SELECT count(*) FROM message WHERE role = 'user'")).toBe(
      await sql(copyNs, "SELECT count(*) FROM message WHERE role = 'assistant'"),
    );
    const copy = await appApi(copyNs);
    const tasks = await copy.call<TaskRead[]>('GET', '/tasks');
    await copy.close();
    expect(tasks.status).toBe(200);
    expect(tasks.body.length).toBe(m.database!.tables['public.task']);
    await deleteNamespace(copyNs);
  }, 300_000);

  it('tasks and a conversation made through the API come back through the API after the namespace is deleted and restored (verified backup, Secrets encrypted, nothing left behind)', async () => {
    let api = await appApi(ns);
    const made: TaskRead[] = [];
    for (const title of ['buy milk', 'write the report', 'call the bank']) {
      const r = await api.call<TaskRead>('POST', '/tasks', { title, description: `about ${title}` });
      expect(r.status).toBe(201);
      made.push(r.body);
    }
    const done = await api.call<TaskRead>('PATCH', `/tasks/${made[1]!.id}/complete`);
    expect(done.body.completed).toBe(true);
    const chat = await api.call<{ conversation_id: number }>('POST', '/chat', { message: 'list tasks' });
    expect(chat.status).toBe(200);
    const before = (await api.call<TaskRead[]>('GET', '/tasks')).body;
    await api.close();

    const r = await backup('--include-secrets', '--verify');
    assertSuccess(r);
    const doc = r.json<Doc>();
    expect(doc.data.verified).toBe(true);
    expect(doc.actions.map((a) => [a.what, a.status])).toEqual(
      expect.arrayContaining([
        ['back up', 'done'],
        ['verify', 'done'],
        ['create namespace', 'done'],
        ['load database', 'done'],
        ['delete namespace', 'done'],
      ]),
    );
    roundTrip = doc.data.archive;
    const secretsPart = fs.readFileSync(path.join(roundTrip, 'secrets.enc'));
    const appSecret = (await kube().read<V1Secret>('v1', 'Secret', `${release}-app-secrets`, ns))!.data!
      .BETTER_AUTH_SECRET!;
    expect(secretsPart.includes(Buffer.from(appSecret))).toBe(false);
    expect(secretsPart.includes(Buffer.from(Buffer.from(appSecret, 'base64').toString('utf8')))).toBe(false);
    // Verify left nothing behind: no scratch namespace, not even terminating.
    expect(
      (await kube().list<V1Namespace>('v1', 'Namespace', undefined, 'todo-ops/scratch=backup-verify')).map(
        (n) => n.metadata!.name,
      ),
    ).toEqual([]);
    // The alert rule's record.
    const stream = fs
      .readFileSync(path.join(env.TODO_STATE_DIR!, kube().contextName, ns, 'backup.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(stream.at(-1)).toMatchObject({
      ok: true,
      verified: true,
      archive: roundTrip,
      bytes: expect.any(Number),
      durationMs: expect.any(Number),
    });
    expect(stream.at(-2)).toMatchObject({ ok: true, verified: null });

    // The whole namespace goes (pods without a grace period: the test waits for it to be gone).
    await sh()`kubectl delete namespace ${ns} --wait=false`;
    await sh()`kubectl delete pods --all -n ${ns} --grace-period=0 --force`.nothrow();
    await gone(ns);
    const rr = await restore(roundTrip, '--yes');
    assertSuccess(rr);
    const rd = rr.json<Doc>();
    expect(rd.findings.filter((f) => f.level !== 'ok')).toEqual([]);
    expect(rd.actions.map((a) => a.what)).toEqual(['create namespace', 'apply objects', 'load database', 'start app']);
    api = await appApi(ns);
    const back = await api.call<TaskRead[]>('GET', '/tasks');
    await api.close();
    expect(back.status).toBe(200);
    const pick = (ts: TaskRead[]) =>
      ts.map((t) => ({ id: t.id, title: t.title, completed: t.completed })).sort((a, b) => a.id - b.id);
    expect(pick(back.body)).toEqual(pick(before));
    expect(pick(back.body).filter((t) => made.some((x) => x.id === t.id))).toEqual([
      { id: made[0]!.id, title: 'buy milk', completed: false },
      { id: made[1]!.id, title: 'write the report', completed: true },
      { id: made[2]!.id, title: 'call the bank', completed: false },
    ]);
    expect(await sql(ns, `SELECT count(*) FROM message WHERE conversation_id = ${chat.body.conversation_id}`)).toBe(
      '2',
    );
    // helm's records came back with the Secrets: the release is helm's again.
    const list = (await sh()`helm list -n ${ns} -o json`).json() as { name: string; status: string }[];
    expect(list.map((x) => [x.name, x.status])).toEqual([[release, 'deployed']]);
    // Into a database that holds rows, without --force: refused, nothing done.
    const again = await restore(roundTrip, '--yes');
    assertFailure(again, 2);
    expect(again.json<Doc>().error!.message).toMatch(/holds \d+ rows in 3 tables: refusing to overwrite it/);
    expect(again.json<Doc>().actions).toEqual([]);
  }, 300_000);

  it('recovery over live data: a missing or wrong passphrase changes nothing, restore --force puts back exactly the archived rows and the app serves; restore --verify checks the archive aside', async () => {
    expect(roundTrip).not.toBe('');
    const pick = (ts: TaskRead[]) =>
      ts.map((t) => ({ id: t.id, title: t.title, completed: t.completed })).sort((a, b) => a.id - b.id);
    let api = await appApi(ns);
    const archived = pick((await api.call<TaskRead[]>('GET', '/tasks')).body);
    // The live data moves on from the archive: one task added, one deleted, one renamed.
    expect((await api.call('POST', '/tasks', { title: 'made after the backup' })).status).toBe(201);
    expect((await api.call('DELETE', `/tasks/${archived[0]!.id}`)).status).toBe(204);
    expect((await api.call('PUT', `/tasks/${archived[1]!.id}`, { title: 'renamed after the backup' })).status).toBe(
      200,
    );
    const live = pick((await api.call<TaskRead[]>('GET', '/tasks')).body);
    await api.close();
    expect(live).not.toEqual(archived);

    // The archive's Secrets are encrypted: without the passphrase, or with another one, nothing is done.
    for (const [passphrase, message] of [
      ['', /^the archive's Secrets are encrypted: set TODO_BACKUP_PASSPHRASE$/],
      ['not-the-passphrase', /^cannot decrypt secrets\.enc: wrong TODO_BACKUP_PASSPHRASE$/],
    ] as const) {
      const r = await run('ops/restore.ts', ['-o', 'json', roundTrip, '--yes', '--force'], {
        env: { ...env, TODO_BACKUP_PASSPHRASE: passphrase },
        timeoutMs: 240_000,
      });
      assertFailure(r, 2);
      expect(r.json<Doc>().error!.message).toMatch(message);
      expect(r.json<Doc>().actions.filter((a) => a.status === 'done')).toEqual([]);
    }
    api = await appApi(ns);
    expect(pick((await api.call<TaskRead[]>('GET', '/tasks')).body)).toEqual(live);
    await api.close();

    // --force: the database is replaced by the archive's, row for row; the app serves it.
    const forced = await restore(roundTrip, '--yes', '--force');
    assertSuccess(forced);
    expect(forced.json<Doc>().actions.map((a) => [a.what, a.status])).toEqual(
      expect.arrayContaining([
        ['load database', 'done'],
        ['start app', 'done'],
      ]),
    );
    api = await appApi(ns);
    const after = await api.call<TaskRead[]>('GET', '/tasks');
    await api.close();
    expect(after.status).toBe(200);
    expect(pick(after.body)).toEqual(archived);
    expect(await sql(ns, "SELECT count(*) FROM task WHERE title = 'made after the backup'")).toBe('0');

    // --verify: restored into a scratch namespace, counts compared with the manifest, the scratch namespace deleted.
    const v = await restore(roundTrip, '--verify');
    assertSuccess(v);
    expect(v.json<Doc>().data.verify).toMatchObject({ verified: true });
    expect(
      (await kube().list<V1Namespace>('v1', 'Namespace', undefined, 'todo-ops/scratch=backup-verify')).map(
        (n) => n.metadata!.name,
      ),
    ).toEqual([]);

    // backup --include-secrets without a passphrase: a clear error, and no archive written.
    const archives = fs.readdirSync(path.dirname(roundTrip)).sort();
    const noPass = await run('ops/backup.ts', ['-o', 'json', '--include-secrets'], {
      env: { ...env, TODO_BACKUP_PASSPHRASE: '' },
      timeoutMs: 240_000,
    });
    assertFailure(noPass, 2);
    expect(noPass.json<Doc>().error!.message).toBe(
      '--include-secrets needs TODO_BACKUP_PASSPHRASE (Secrets are never written in plain text)',
    );
    expect(fs.readdirSync(path.dirname(roundTrip)).sort()).toEqual(archives);
  }, 300_000);

  it('a damaged archive (flipped byte, truncated part, missing part, manifest edited to match a changed part) is refused and the cluster is unchanged', async () => {
    expect(roundTrip).not.toBe('');
    const copy = (name: string) => {
      const d = path.join(tmp, 'damaged', name);
      fs.cpSync(roundTrip, d, { recursive: true });
      return d;
    };
    const flip = (file: string) => {
      const b = fs.readFileSync(file);
      const i = Math.floor(b.length / 2);
      b[i] = b[i]! ^ 0x01;
      fs.writeFileSync(file, b);
    };
    const flipped = copy('flipped');
    flip(path.join(flipped, 'db.dump'));
    const truncated = copy('truncated');
    fs.truncateSync(path.join(truncated, 'db.dump'), Math.floor(fs.statSync(path.join(truncated, 'db.dump')).size / 2));
    const missing = copy('missing');
    fs.rmSync(path.join(missing, 'objects.json'));
    const edited = copy('edited');
    flip(path.join(edited, 'db.dump'));
    const mf = path.join(edited, 'manifest.json');
    const m = JSON.parse(fs.readFileSync(mf, 'utf8')) as Manifest;
    const part = m.parts.find((p) => p.name === 'db.dump')!;
    part.sha256 = createHash('sha256')
      .update(fs.readFileSync(path.join(edited, 'db.dump')))
      .digest('hex');
    fs.writeFileSync(mf, JSON.stringify(m, null, 2));
    expect(manifestChecksum(m)).not.toBe(m.checksum);

    // Each refused by the check restore runs first (in-process: the same function, no process start-up each)...
    const refusal = async (d: string) =>
      (await openArchive(d).then(
        () => undefined,
        (e: Error) => e.message,
      )) ?? 'accepted';
    expect(await refusal(roundTrip)).toBe('accepted');
    expect(await refusal(flipped)).toMatch(/db\.dump: SHA-256 .* the manifest says/);
    expect(await refusal(truncated)).toMatch(/db\.dump: \d+ bytes, the manifest says \d+ \(truncated or changed\)/);
    expect(await refusal(missing)).toMatch(/objects\.json: missing/);
    expect(await refusal(edited)).toMatch(/manifest\.json was changed after the backup/);
    // ...and through the script, into the live namespace with --yes --force: exit 1, no action, the release untouched.
    const objectsBefore = await snapshotOf(ns);
    for (const d of [flipped, edited]) {
      const r = await restore(d, '--yes', '--force');
      assertFailure(r, 1);
      expect(r.json<Doc>().actions).toEqual([]);
    }
    expect(await snapshotOf(ns)).toEqual(objectsBefore);
  }, 120_000);

  it('an external DATABASE_URL is dumped through a short-lived pod that gets the URL on stdin, and the pod is gone after', async () => {
    // "External" to a second release that runs no PostgreSQL: the first release's database, by its Service name.
    const extNs = await tempNamespace('backup-ext');
    try {
      const k = kube();
      const pw = Buffer.from(
        (await k.read<V1Secret>('v1', 'Secret', `${release}-postgresql`, ns))!.data!.POSTGRES_PASSWORD!,
        'base64',
      ).toString('utf8');
      await k.apply({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'ext-app-secrets', namespace: extNs },
        stringData: { DATABASE_URL: `postgresql://todo:${pw}@${release}-postgresql.${ns}.svc.cluster.local:5432/todo` },
      } as V1Secret);
      // Its backend (never started) tells the short-lived pod where to run: the real node.
      await k.apply({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: {
          name: 'ext-backend',
          namespace: extNs,
          labels: { 'app.kubernetes.io/instance': 'ext', 'app.kubernetes.io/component': 'backend' },
        },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'ext' } },
          template: {
            metadata: { labels: { app: 'ext' } },
            spec: {
              nodeSelector: { type: 'real' },
              tolerations: [{ key: 'todo-ops.test/real-node', operator: 'Exists', effect: 'NoSchedule' }],
              containers: [{ name: 'x', image: 'none' }],
            },
          },
        },
      } as never);
      const r = await run('ops/backup.ts', ['-o', 'json'], {
        env: { ...env, TODO_NAMESPACE: extNs, TODO_RELEASE: 'ext' },
        timeoutMs: 180_000,
      });
      assertSuccess(r);
      const doc = r.json<Doc>();
      expect(doc.data.database).toMatchObject({
        source: 'external',
        via: expect.stringMatching(/^short-lived pod ext-backup-[0-9a-f]{6} /),
      });
      expect(doc.data.tables['public.task']).toBe(Number(await sql(ns, 'SELECT count(*) FROM task')));
      expect(r.output).not.toContain(pw);
      expect(fs.readFileSync(path.join(doc.data.archive, 'manifest.json'), 'utf8')).not.toContain(pw);
      const left = await k.list('v1', 'Pod', extNs, 'app.kubernetes.io/component=backup');
      expect(left.filter((p) => !p.metadata?.deletionTimestamp)).toEqual([]);
      // A verify needs the release's own PostgreSQL to restore into: refused before anything is written.
      const v = await run('ops/backup.ts', ['-o', 'json', '--verify'], {
        env: { ...env, TODO_NAMESPACE: extNs, TODO_RELEASE: 'ext' },
        timeoutMs: 60_000,
      });
      assertFailure(v, 2);
      expect(v.json<Doc>().error!.message).toMatch(/runs none \(external database\)/);
      expect(fs.readdirSync(path.dirname(doc.data.archive))).toEqual([path.basename(doc.data.archive)]);
    } finally {
      await deleteNamespace(extNs);
    }
  }, 180_000);

  it('two backups at once: the second exits 5 naming the holder', async () => {
    const k = kube();
    const releaseLock = await acquireLock(
      env.TODO_STATE_DIR!,
      { context: k.contextName, namespace: ns, release, scope: 'backup' },
      'backup',
    );
    try {
      const r = await backup();
      assertFailure(r, 5);
      expect(r.json<Doc>().error!.message).toMatch(/backup lock/);
    } finally {
      releaseLock();
    }
  }, 60_000);
});
