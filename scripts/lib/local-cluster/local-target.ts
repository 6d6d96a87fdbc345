// The local cluster as a user's own target (bootstrap --target local, profile
// `local`), not only the tests' bed: a kube context for it merged into the
// user's kubeconfig the way kind and minikube do, so every script and kubectl
// reach it by name; and PostgreSQL's data on a local volume in a directory of
// the user's, outside the bed's own (which cluster:down removes), so the data
// outlives deploys, rollouts and the cluster itself.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { $ } from 'zx';
import YAML from 'yaml';
import { binDir, bedDir, clusterDir, kubeconfigPath } from './layout.ts';
import { realNodeName } from './node.ts';

/** The context, cluster and user entries the local target adds to the user's kubeconfig (env/local.env names it). */
export const localContext = 'todo-ops-local';
/** Where PostgreSQL's data of the local target lives: one directory per namespace and release. */
export const localDataDir = () =>
  process.env.TODO_OPS_LOCAL_DATA_DIR ?? path.join(os.homedir(), '.local', 'share', 'todo-chatbot-ops', 'local');
/** The class values-local.yaml asks for: only the volumes made here match it. */
const storageClass = 'todo-ops-local';
/** The kubeconfig files the context went into (cluster:down removes it from those, whatever KUBECONFIG says then). */
const recordPath = () => path.join(bedDir, 'local-context.json');
function recorded(): string[] {
  try {
    const files = (JSON.parse(fs.readFileSync(recordPath(), 'utf8')) as { files?: unknown }).files;
    return Array.isArray(files) ? files.filter((f): f is string => typeof f === 'string') : [];
  } catch {
    return [];
  }
}

/** The kubeconfig file a context is merged into, as kubectl writes: $KUBECONFIG's first file, else ~/.kube/config. */
export function userKubeconfig(env: NodeJS.ProcessEnv = process.env): string {
  return env.KUBECONFIG?.split(path.delimiter).find(Boolean) ?? path.join(os.homedir(), '.kube', 'config');
}

interface Named {
  name: string;
  [k: string]: unknown;
}
interface KubeconfigDoc {
  apiVersion?: string;
  kind?: string;
  clusters?: Named[] | null;
  users?: Named[] | null;
  contexts?: Named[] | null;
  'current-context'?: string;
  [k: string]: unknown;
}

function readDoc(file: string): KubeconfigDoc {
  if (!fs.existsSync(file)) return { apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [] };
  const doc = (YAML.parse(fs.readFileSync(file, 'utf8')) ?? {}) as KubeconfigDoc;
  return { apiVersion: 'v1', kind: 'Config', ...doc };
}

/** Private (0600), written whole then renamed: a reader never sees half a file. */
function writeDoc(file: string, doc: KubeconfigDoc): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.todo-ops-${process.pid}`;
  fs.writeFileSync(tmp, YAML.stringify(doc), { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}

const upsert = (list: Named[] | null | undefined, entry: Named) => [
  ...(list ?? []).filter((e) => e.name !== entry.name),
  entry,
];

/**
 * Adds (or refreshes: the API port changes with every cluster start) the
 * local cluster's cluster, user and context entries, certificates embedded
 * (the bed's files go with cluster:down), and selects the context as kind and
 * minikube do. Every other entry is kept as it was.
 */
export function mergeLocalContext(file = userKubeconfig()): { file: string; context: string; server: string } {
  const bed = YAML.parse(fs.readFileSync(kubeconfigPath, 'utf8')) as KubeconfigDoc;
  const server = String((bed.clusters?.[0]?.cluster as { server?: string } | undefined)?.server ?? '');
  const pem = (f: string) => fs.readFileSync(path.join(clusterDir, 'pki', f)).toString('base64');
  const doc = readDoc(file);
  doc.clusters = upsert(doc.clusters, {
    name: localContext,
    cluster: { server, 'certificate-authority-data': pem('ca.crt') },
  });
  doc.users = upsert(doc.users, {
    name: localContext,
    user: { 'client-certificate-data': pem('admin.crt'), 'client-key-data': pem('admin.key') },
  });
  doc.contexts = upsert(doc.contexts, { name: localContext, context: { cluster: localContext, user: localContext } });
  doc['current-context'] = localContext;
  writeDoc(file, doc);
  fs.mkdirSync(bedDir, { recursive: true });
  fs.writeFileSync(recordPath(), JSON.stringify({ files: [...new Set([...recorded(), file])] }));
  return { file, context: localContext, server };
}

/**
 * Removes the entries mergeLocalContext added, and only those, from the files
 * it added them to (default: every file it recorded); the current context is
 * unset when it was this one, as kind does. Returns the files changed.
 */
export function removeLocalContext(files = recorded()): string[] {
  const changed: string[] = [];
  for (const file of files) {
    if (!fs.existsSync(file)) continue;
    const doc = readDoc(file);
    const drop = (l: Named[] | null | undefined) => (l ?? []).filter((e) => e.name !== localContext);
    const before = JSON.stringify(doc);
    doc.clusters = drop(doc.clusters);
    doc.users = drop(doc.users);
    doc.contexts = drop(doc.contexts);
    if (doc['current-context'] === localContext) delete doc['current-context'];
    if (JSON.stringify(doc) === before) continue;
    writeDoc(file, doc);
    changed.push(file);
  }
  const left = recorded().filter((f) => !files.includes(f));
  if (left.length) fs.writeFileSync(recordPath(), JSON.stringify({ files: left }));
  else fs.rmSync(recordPath(), { force: true });
  return changed;
}

/** Whether the user's kubeconfig has the local context (doctor). */
export function hasLocalContext(file = userKubeconfig()): boolean {
  try {
    return (readDoc(file).contexts ?? []).some((c) => c.name === localContext);
  } catch {
    return false;
  }
}

/** The data directory of one release's PostgreSQL. */
export const postgresDataDir = (namespace: string, release: string) =>
  path.join(localDataDir(), namespace, `${release}-postgresql`);

const bedKubectl = (input?: string) =>
  $({
    env: { ...process.env, KUBECONFIG: kubeconfigPath, PATH: `${binDir}${path.delimiter}${process.env.PATH}` },
    quiet: true,
    timeout: '60s',
    ...(input !== undefined ? { input } : {}),
  });

/**
 * The volume the StatefulSet's claim binds to: a local PersistentVolume on the
 * real node over the release's data directory, bound ahead to that claim (so
 * no other claim takes it), kept when the claim goes (Retain). A volume left
 * Released by a deleted claim is freed for the claim's next incarnation: the
 * data stays. Idempotent.
 */
export async function ensureLocalVolume(
  namespace: string,
  release: string,
): Promise<{ dir: string; pv: string; changed?: string }> {
  const dir = postgresDataDir(namespace, release);
  fs.mkdirSync(dir, { recursive: true });
  const pv = `${storageClass}-${namespace}-${release}-postgresql`.slice(0, 253);
  const objects = [
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: storageClass },
      provisioner: 'kubernetes.io/no-provisioner',
      // The scheduler binds the claim as it places the pod: no "unbound claim" warning in between.
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Retain',
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pv, labels: { 'todo-ops.local/data': 'postgresql' } },
      spec: {
        capacity: { storage: '10Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: storageClass,
        local: { path: dir },
        claimRef: {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          namespace,
          name: `data-${release}-postgresql-0`,
        },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [realNodeName] }] },
            ],
          },
        },
      },
    },
  ];
  const applied = await bedKubectl(objects.map((o) => JSON.stringify(o)).join('\n'))`kubectl apply -f -`;
  const made = /^persistentvolume\/\S+ (created|configured)$/m.exec(applied.stdout)?.[1];
  const phase = (await bedKubectl()`kubectl get pv ${pv} -o jsonpath={.status.phase}`).stdout.trim();
  if (phase !== 'Released') return { dir, pv, ...(made ? { changed: made } : {}) };
  // Its claim was deleted (a namespace or release removed): the next claim of that name gets the same data.
  await bedKubectl()`kubectl patch pv ${pv} --type merge -p ${JSON.stringify({
    spec: { claimRef: { uid: null, resourceVersion: null } },
  })}`;
  return { dir, pv, changed: 'freed for a new claim' };
}

/** Bytes under a directory (doctor's data line); 0 when it does not exist. */
export function dirBytes(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) total += fs.statSync(p).size;
    }
  };
  walk(dir);
  return total;
}
