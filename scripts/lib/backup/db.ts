// The database side of backup and restore, through exec (scripts/lib/kube/exec.ts):
// pg_dump's custom format streamed from the container into a file, and a file
// streamed into pg_restore's stdin; neither is ever held whole in memory.
//
// Consistency: a psql session opens a REPEATABLE READ transaction, exports its
// snapshot and counts every table's rows in it; pg_dump then runs with
// --snapshot, so the counts in the manifest are exactly what the dump holds,
// and a transaction committed during the backup is in both or in neither.
//
// The password never reaches a command line: in the PostgreSQL pod the tools
// read it from the container's own environment (POSTGRES_PASSWORD, which the
// chart fills from the release's Secret); for an external DATABASE_URL the
// URL is read from the app Secret through the API and written to the
// command's stdin, where the shell reads it before running the tool.
import fs from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import { Exit, OpsError } from '../kit/errors.ts';
import { execInPod } from '../kube/exec.ts';
import type { Kube } from '../kube/client.ts';
import { isServing } from '../kube/pod-status.ts';

export interface DbTarget {
  namespace: string;
  pod: string;
  container: string;
  source: 'in-cluster' | 'external';
  via: string;
  /** shell that sets "$@" to the connection arguments of psql, pg_dump and pg_restore */
  connect: string;
  /** written to the command's stdin first (the external URL), read by `connect` */
  stdinPrefix: string;
  /** removes what was made to reach the database (the short-lived pod) */
  cleanup(): Promise<void>;
}

export const dbSelector = (release: string) =>
  `app.kubernetes.io/instance=${release},app.kubernetes.io/component=postgresql`;

/** The release's PostgreSQL pod (ready), or undefined when the release runs none. */
export async function inClusterDb(kube: Kube, namespace: string, release: string): Promise<DbTarget | undefined> {
  const pods = await kube.list<V1Pod>('v1', 'Pod', namespace, dbSelector(release));
  if (!pods.length) return undefined;
  const pod = pods.find(isServing);
  if (!pod)
    throw new OpsError(
      `the PostgreSQL pod of ${release} in ${namespace} is not ready`,
      Exit.actionFailed,
      `npx zx scripts/debug.ts -n ${namespace}`,
    );
  const name = pod.metadata!.name!;
  return {
    namespace,
    pod: name,
    container: 'postgresql',
    source: 'in-cluster',
    via: `exec in pod ${name}`,
    connect: 'export PGPASSWORD="$POSTGRES_PASSWORD"; set -- -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB";',
    stdinPrefix: '',
    cleanup: async () => undefined,
  };
}

/** Waits until the DB pod of a restored release is ready, then returns it. */
export async function waitInClusterDb(
  kube: Kube,
  namespace: string,
  release: string,
  timeoutSec: number,
): Promise<DbTarget> {
  await kube.waitFor<V1Pod>({
    apiVersion: 'v1',
    kind: 'Pod',
    namespace,
    labelSelector: dbSelector(release),
    timeoutSec,
    done: (pods) => pods.some(isServing),
    describe: (pods) => pods.map((p) => `${p.metadata?.name}: ${p.status?.phase}`).join(', ') || 'no pod yet',
  });
  return (await inClusterDb(kube, namespace, release))!;
}

/**
 * A short-lived pod (the chart's PostgreSQL image, scheduled like the backend,
 * which reaches the external database) to run the client tools against an
 * external DATABASE_URL; deleted by cleanup().
 */
export async function externalDb(
  kube: Kube,
  o: {
    namespace: string;
    release: string;
    url: string;
    image: string;
    scheduling: Record<string, unknown>;
    timeoutSec: number;
  },
): Promise<DbTarget> {
  const name = `${o.release}-backup-${randomBytes(3).toString('hex')}`;
  await kube.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.namespace,
      labels: { 'app.kubernetes.io/instance': o.release, 'app.kubernetes.io/component': 'backup' },
    },
    spec: {
      ...o.scheduling,
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      activeDeadlineSeconds: 6 * 3600,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 999,
        runAsGroup: 999,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'pg',
          image: o.image,
          imagePullPolicy: 'IfNotPresent',
          command: ['sleep', '21600'],
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            readOnlyRootFilesystem: true,
          },
          resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '256Mi' } },
        },
      ],
    },
  } as never);
  const cleanup = async () => {
    await kube
      .delete({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: o.namespace } })
      .catch(() => undefined);
  };
  try {
    await kube.waitFor<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: o.namespace,
      fieldSelector: `metadata.name=${name}`,
      timeoutSec: o.timeoutSec,
      done: ([p]) => p?.status?.phase === 'Running',
      describe: ([p]) => `pod ${name}: ${p?.status?.phase ?? 'not created'}`,
    });
  } catch (e) {
    await cleanup();
    throw e;
  }
  return {
    namespace: o.namespace,
    pod: name,
    container: 'pg',
    source: 'external',
    via: `short-lived pod ${name} (${o.image})`,
    connect: 'IFS= read -r u; set -- -d "$u";',
    stdinPrefix: `${o.url}\n`,
    cleanup,
  };
}

/** Rows of every user table, one line each: rows:<schema>.<table>=<n>. */
const countSql = `SELECT 'rows:' || table_schema || '.' || table_name || '=' || (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1;`;

/** The rows:... lines of psql's output as a map. */
export function parseCounts(out: string): Record<string, number> {
  const tables: Record<string, number> = {};
  for (const line of out.split('\n')) {
    const m = /^rows:(.+)=(\d+)$/.exec(line.trim());
    if (m) tables[m[1]!] = Number(m[2]);
  }
  return tables;
}

const sh = (db: DbTarget, cmd: string) => ['sh', '-c', `${db.connect} ${cmd}`];

/** Runs SQL through psql in the target; throws with psql's own error on failure. */
async function psql(kube: Kube, db: DbTarget, sql: string, timeoutSec: number): Promise<string> {
  const r = await execInPod(kube, {
    namespace: db.namespace,
    pod: db.pod,
    container: db.container,
    command: sh(db, 'exec psql -X -At -v ON_ERROR_STOP=1 "$@"'),
    stdin: db.stdinPrefix + sql + '\n',
    timeoutSec,
  });
  if (r.exitCode !== 0)
    throw new OpsError(`psql in ${db.pod} exited ${r.exitCode}: ${lastLine(r.stderr)}`, Exit.actionFailed);
  return r.stdout;
}

export const countRows = async (kube: Kube, db: DbTarget, timeoutSec: number) =>
  parseCounts(await psql(kube, db, countSql, timeoutSec));

const lastLine = (s: string) => s.trim().split('\n').filter(Boolean).at(-1) ?? '(no output)';

/** Collects a stream's text, at most the last 64 KiB (stderr of a long run). */
function tail(): { stream: PassThrough; text: () => string } {
  const s = new PassThrough();
  let buf = '';
  s.on('data', (b: Buffer) => (buf = (buf + b.toString('utf8')).slice(-65536)));
  return { stream: s, text: () => buf };
}

export interface DumpResult {
  tables: Record<string, number>;
  serverVersion: string;
  bytes: number;
}

/**
 * pg_dump -Fc into `file`, in the snapshot whose row counts it returns.
 * Everything streams: the dump goes from the exec socket to the file.
 */
export async function dumpTo(kube: Kube, db: DbTarget, file: string, timeoutSec: number): Promise<DumpResult> {
  const input = new PassThrough();
  const out = new PassThrough();
  const err = tail();
  let text = '';
  let onLine: (() => void) | undefined;
  out.on('data', (b: Buffer) => {
    text += b.toString('utf8');
    onLine?.();
  });
  input.write(db.stdinPrefix);
  input.write(
    `BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\nSELECT 'snap:' || pg_export_snapshot();\nSELECT 'ver:' || current_setting('server_version');\n${countSql}\nSELECT 'end:counts';\n`,
  );
  const holder = execInPod(kube, {
    namespace: db.namespace,
    pod: db.pod,
    container: db.container,
    command: sh(db, 'exec psql -X -At -v ON_ERROR_STOP=1 "$@"'),
    stdin: input,
    stdout: out,
    stderr: err.stream,
    timeoutSec,
  });
  let holderDone = false;
  const holderResult = holder.finally(() => {
    holderDone = true;
    onLine?.();
  });
  try {
    // The snapshot and the counts, or the session's end (a failed query).
    await new Promise<void>((resolve, reject) => {
      onLine = () => {
        if (/^end:counts$/m.test(text)) resolve();
        else if (holderDone)
          reject(
            new OpsError(
              `psql in ${db.pod} ended before the snapshot was taken: ${lastLine(err.text())}`,
              Exit.actionFailed,
            ),
          );
      };
      holderResult.catch(reject);
      onLine();
    });
    const snap = /^snap:([0-9A-Fa-f-]+)$/m.exec(text)?.[1];
    if (!snap) throw new OpsError(`psql in ${db.pod} exported no snapshot: ${text.slice(0, 200)}`, Exit.actionFailed);
    const sink = new PassThrough();
    const written = pipeline(sink, fs.createWriteStream(file, { mode: 0o600 }));
    const dumpErr = tail();
    const r = await execInPod(kube, {
      namespace: db.namespace,
      pod: db.pod,
      container: db.container,
      command: sh(db, `exec pg_dump -Fc --snapshot=${snap} "$@"`),
      ...(db.stdinPrefix ? { stdin: db.stdinPrefix } : {}),
      stdout: sink,
      stderr: dumpErr.stream,
      timeoutSec,
    });
    if (!sink.writableEnded) sink.end();
    await written;
    if (r.exitCode !== 0)
      throw new OpsError(`pg_dump in ${db.pod} exited ${r.exitCode}: ${lastLine(dumpErr.text())}`, Exit.actionFailed);
    input.end('COMMIT;\n');
    await holderResult;
    return {
      tables: parseCounts(text),
      serverVersion: /^ver:(.+)$/m.exec(text)?.[1] ?? '',
      bytes: fs.statSync(file).size,
    };
  } finally {
    if (!input.writableEnded) input.end();
    await holderResult.catch(() => undefined);
  }
}

/** Streams a custom-format dump into pg_restore, all in one transaction (a failed load leaves the database as it was). */
export async function restoreFrom(
  kube: Kube,
  db: DbTarget,
  file: string,
  o: { clean: boolean; timeoutSec: number },
): Promise<void> {
  const prefix = db.stdinPrefix;
  const stdin = Readable.from(
    (async function* () {
      if (prefix) yield Buffer.from(prefix);
      yield* fs.createReadStream(file);
    })(),
  );
  const err = tail();
  const flags = `--no-owner --no-privileges --exit-on-error --single-transaction${o.clean ? ' --clean --if-exists' : ''}`;
  const r = await execInPod(kube, {
    namespace: db.namespace,
    pod: db.pod,
    container: db.container,
    command: sh(db, `exec pg_restore ${flags} "$@"`),
    stdin,
    stderr: err.stream,
    timeoutSec: o.timeoutSec,
  });
  if (r.exitCode !== 0)
    throw new OpsError(`pg_restore in ${db.pod} exited ${r.exitCode}: ${lastLine(err.text())}`, Exit.actionFailed);
}
