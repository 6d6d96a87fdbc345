// The real test cluster, all inside a network + mount namespace of its own
// (node.ts): etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
// kwok-controller and metrics-server wired by kwokctl; two fake nodes played by
// kwok (no containers: for scale and for faults a real node cannot cheaply
// produce); and one real node, real-0 (containerd + runc, kubelet, kube-proxy,
// CoreDNS), that runs real containers from the repo's images. The API server is
// reached on this machine's 127.0.0.1 through a relay; pods and Services only
// from inside (`npm run -s cluster:exec -- CMD`).
import fs from 'node:fs';
import path from 'node:path';
import { $ } from 'zx';
import YAML from 'yaml';
import { ensureImages, importImages } from './images.ts';
import {
  bedName,
  bedDir,
  bedSrc,
  binDir,
  clusterDir,
  kubeconfigPath,
  kwokWorkdir,
  toolsDir,
  versions,
} from './layout.ts';
import {
  ComponentError,
  alive,
  inside,
  nodeLogTails,
  paths,
  readState,
  realNodeName,
  startApiRelay,
  startContainerd,
  startNamespace,
  startNodeAgents,
  stopNode,
  writeState,
  type BedState,
} from './node.ts';
import { freePort } from './net.ts';
import { prereqsFor } from '../preflight/prereqs.ts';
import { requirePrereqs } from '../preflight/system.ts';

export { bedName, bedDir, binDir } from './layout.ts';
export { realNodeName } from './node.ts';
/** Fake nodes: enough room for every test's pods. */
const nodes = ['bed-node-1', 'bed-node-2'];
/** The real node's StorageClass (the cluster default) and its pool of local volumes. */
const storageClass = 'bed-local';
const volumePool = 8;

/** PATH and KUBECONFIG for anything run against the bed (helm and kubectl from the cache). */
export function bedEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KUBECONFIG: kubeconfigPath,
    PATH: `${binDir}${path.delimiter}${process.env.PATH}`,
    KWOK_WORKDIR: kwokWorkdir,
  };
}

/** Builds (cold) or finds (warm) every binary; see build-tools.sh. */
export async function buildTools(): Promise<void> {
  const r = await $({
    stdio: ['ignore', 'ignore', 'inherit'],
    nothrow: true,
  })`bash ${path.join(bedSrc, 'build-tools.sh')}`;
  // Its own lines (on stderr, above) say why; the error says where, in one line.
  if (r.exitCode !== 0)
    throw new Error(
      `building the local cluster's binaries failed (scripts/lib/local-cluster/build-tools.sh exit ${r.exitCode}): the build-tools lines above say why`,
    );
}

function kwokctlConfig(apiPort: number): string {
  const stages = path.join(toolsDir, `kwok-stages-${versions.KWOK_VERSION}`);
  const stageFiles = [
    'node/fast/node-initialize.yaml',
    'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
    'pod/fast/pod-ready.yaml',
    'pod/fast/pod-complete.yaml',
    'pod/fast/pod-delete.yaml',
    'pod/chaos/pod-container-running-failed.yaml',
  ].map((f) => fs.readFileSync(path.join(stages, f), 'utf8'));
  const pki = (f: string) => path.join(clusterDir, 'pki', f);
  const cfg = {
    apiVersion: 'config.kwok.x-k8s.io/v1alpha1',
    kind: 'KwokctlConfiguration',
    options: {
      runtime: 'binary',
      kubeVersion: versions.KUBE_VERSION,
      bindAddress: '127.0.0.1',
      // Free on this machine's loopback too: the relay listens there on the same port.
      kubeApiserverPort: apiPort,
      kubeApiserverBinary: path.join(binDir, 'kube-apiserver'),
      kubeControllerManagerBinary: path.join(binDir, 'kube-controller-manager'),
      kubeSchedulerBinary: path.join(binDir, 'kube-scheduler'),
      kubectlBinary: path.join(binDir, 'kubectl'),
      etcdBinary: path.join(binDir, 'etcd'),
      kwokControllerBinary: path.join(binDir, 'kwok'),
      metricsServerBinary: path.join(binDir, 'metrics-server'),
      enableMetricsServer: true,
      metricsServerManifests: [path.join(bedSrc, 'kwok', 'metrics-server')],
      disableQPSLimits: true,
      cacheDir: path.join(bedDir, 'cache'),
    },
    componentsPatches: [
      {
        name: 'kwok-controller',
        extraArgs: [
          // Fake nodes get loopback addresses so metrics scraping and log proxying stay inside.
          { key: 'node-ip', value: '127.0.0.1' },
          // The real node is the kubelet's: kwok plays only the fake ones (they carry this annotation).
          { key: 'manage-all-nodes', value: 'false' },
          { key: 'manage-nodes-with-annotation-selector', value: 'kwok.x-k8s.io/node=fake' },
        ],
      },
      {
        // logs, exec and port-forward reach the real kubelet at its InternalIP, as the bed's admin.
        name: 'kube-apiserver',
        extraArgs: [
          { key: 'kubelet-preferred-address-types', value: 'InternalIP' },
          { key: 'kubelet-client-certificate', value: pki('admin.crt') },
          { key: 'kubelet-client-key', value: pki('admin.key') },
        ],
      },
      // metrics-server's shortest resolution: usage shows up sooner after a pod starts.
      {
        name: 'metrics-server',
        extraArgs: [
          { key: 'metric-resolution', value: '10s' },
          { key: 'kubelet-request-timeout', value: '5s' },
        ],
      },
    ],
  };
  return [
    YAML.stringify(cfg),
    ...stageFiles,
    fs.readFileSync(path.join(bedSrc, 'kwok', 'crashloop-stage.yaml'), 'utf8'),
  ].join('\n---\n');
}

/** The chart requests ephemeral-storage for every container: fake nodes must offer it. */
const nodeResources = { cpu: '8', memory: '16Gi', pods: '110', 'ephemeral-storage': '100Gi' };

function nodeManifest(name: string) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: {
        'kwok.x-k8s.io/node': 'fake',
        'node.alpha.kubernetes.io/ttl': '0',
        // metrics-server scrapes this path on the node's kubelet port, which kwok serves.
        'metrics.k8s.io/resource-metrics-path': `/metrics/nodes/${name}/metrics/resource`,
      },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        type: 'kwok',
      },
    },
    spec: {},
    status: {
      allocatable: nodeResources,
      capacity: nodeResources,
      nodeInfo: { architecture: 'amd64', kubeletVersion: 'fake', operatingSystem: 'linux', kubeProxyVersion: 'fake' },
    },
  };
}

/** The default StorageClass: local volumes on the real node, bound when a pod is scheduled there. */
function storageManifests(): object[] {
  return [
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: storageClass, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      provisioner: 'kubernetes.io/no-provisioner',
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Retain',
    },
  ];
}

function volumeManifest(i: number): object {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: `${storageClass}-${i}`, labels: { 'todo-ops.test/bed-volume': 'true' } },
    spec: {
      capacity: { storage: '10Gi' },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Retain',
      storageClassName: storageClass,
      local: { path: path.join(paths.volumes, `${storageClass}-${i}`) },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [realNodeName] }] },
          ],
        },
      },
    },
  };
}

/**
 * Keeps the pool of local volumes full: a volume whose claim is gone (Released)
 * is wiped and made Available again, a missing one is created. Idempotent; the
 * tests call it after deleting their PVCs, up() calls it every time.
 */
export async function recycleVolumes(): Promise<string[]> {
  const env = bedEnv();
  const phases = new Map<string, string>();
  const list = await $({
    env,
    quiet: true,
  })`kubectl get pv -l todo-ops.test/bed-volume=true -o jsonpath=${'{range .items[*]}{.metadata.name}={.status.phase}{"\\n"}{end}'}`;
  for (const line of list.stdout.split('\n').filter(Boolean)) {
    const [n, p] = line.split('=');
    phases.set(n!, p!);
  }
  const recycled: string[] = [];
  const apply: object[] = [];
  for (let i = 1; i <= volumePool; i++) {
    const name = `${storageClass}-${i}`;
    const dir = path.join(paths.volumes, name);
    const phase = phases.get(name);
    if (phase === 'Released' || phase === 'Failed') {
      await $({ env, quiet: true })`kubectl delete pv ${name} --wait=true --timeout=30s`;
      recycled.push(name);
    } else if (phase) {
      continue;
    }
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    apply.push(volumeManifest(i));
  }
  if (apply.length)
    await $({ env, quiet: true, input: apply.map((o) => JSON.stringify(o)).join('\n') })`kubectl apply -f -`;
  return recycled;
}

/** The bed is running and whole: its processes, the API through the relay, the real node Ready. */
export async function healthy(): Promise<boolean> {
  const state = readState();
  if (!fs.existsSync(kubeconfigPath) || !state || !alive(state.holderPid)) return false;
  if (Object.values(state.pids).some((pid) => !alive(pid))) return false;
  const env = bedEnv();
  const r = await $({ env, nothrow: true, quiet: true, timeout: '10s' })`kubectl get --raw /readyz`;
  if (r.exitCode !== 0) return false;
  const ready = await $({
    env,
    nothrow: true,
    quiet: true,
    timeout: '10s',
  })`kubectl get node ${realNodeName} -o jsonpath=${'{.status.conditions[?(@.type=="Ready")].status}'}`;
  return ready.stdout.trim() === 'True';
}

async function kubectl(args: string[]): Promise<string> {
  return (await $({ env: bedEnv(), quiet: true, nothrow: true, timeout: '10s' })`kubectl ${args}`).stdout.trim();
}

export interface UpResult {
  kubeconfig: string;
  created: boolean;
  /** seconds per phase of this up (created beds only) */
  timings: Record<string, number>;
}

/** Starts the bed, or reuses a healthy one (created: false). A bed that fails to come up is removed unless TODO_OPS_BED_KEEP=1. */
export async function up(
  log: (m: string) => void = () => undefined,
  opts: { kagent?: boolean } = {},
): Promise<UpResult> {
  if (process.getuid?.() !== 0) throw new Error('the test bed needs root (network namespace, cgroups, containerd)');
  // Before the long build: every command the bed runs, each missing one named with its package.
  await requirePrereqs(prereqsFor('local'));
  const timings: Record<string, number> = {};
  const t0 = Date.now();
  const lap = (what: string, since: number) => (timings[what] = Number(((Date.now() - since) / 1000).toFixed(1)));
  await buildTools();
  lap('tools', t0);
  const env = bedEnv();
  const reuse = await healthy();
  if (reuse) {
    log(`reusing the running test bed ${bedName}`);
    // Images rebuilt since (the repo changed) reach the running node; unchanged ones are not imported again.
    const t1 = Date.now();
    await importImages(paths.containerdSock, await ensureImages(log), log);
    lap('images', t1);
  } else {
    await down();
    fs.mkdirSync(bedDir, { recursive: true });
    log(`creating test bed ${bedName}`);
    try {
      await create(env, log, timings);
    } catch (e) {
      const msg =
        e instanceof ComponentError ? e.message : `${String((e as Error).message).trim()}\n${componentLogTails()}`;
      const keep = Boolean(process.env.TODO_OPS_BED_KEEP);
      log(
        `test bed ${bedName} did not come up: ${msg}\n(${keep ? 'kept for inspection: npm run cluster:down removes it' : 'removed, with its logs; TODO_OPS_BED_KEEP=1 keeps it'})`,
      );
      if (!keep) await down();
      throw e instanceof ComponentError ? e : new Error(msg, { cause: e });
    }
  }
  try {
    const t1 = Date.now();
    // Idempotent: nodes, volumes and waits are cheap when already there.
    await $({
      env,
      quiet: true,
      input: [...nodes.map(nodeManifest), ...storageManifests()].map((n) => JSON.stringify(n)).join('\n'),
    })`kubectl apply --server-side -f -`;
    // Apply does not touch status: a bed started by an older checkout gets today's capacity here.
    for (const n of nodes)
      await $({
        env,
        quiet: true,
      })`kubectl patch node ${n} --subresource=status --type=merge -p ${JSON.stringify({ status: { allocatable: nodeResources, capacity: nodeResources } })}`;
    await recycleVolumes();
    await $({ env, quiet: true })`kubectl wait --for=condition=Ready node --all --timeout=120s`;
    await metricsAvailable(env, log);
    // The service account controller makes "default" shortly after a namespace appears; pods need it.
    await $({ env, quiet: true })`kubectl wait --for=create serviceaccount/default -n default --timeout=60s`;
    lap('nodes and volumes', t1);
    Object.assign(timings, await (await import('./kagent.ts')).kagentOnUp(log, opts.kagent));
  } catch (e) {
    log(`test bed not ready: ${String((e as Error).message).trim()}\n${componentLogTails()}`);
    throw e;
  }
  lap('total', t0);
  return { kubeconfig: kubeconfigPath, created: !reuse, timings };
}

/**
 * metrics-server exits when the API server is not answering yet at its start
 * (seen on a loaded machine) and kwokctl does not restart it. `kwokctl start
 * cluster` starts only the components that are not running, so one retry
 * brings it back without touching the others.
 */
async function metricsAvailable(env: NodeJS.ProcessEnv, log: (m: string) => void): Promise<void> {
  const wait = (secs: number) =>
    $({
      env,
      quiet: true,
      nothrow: true,
    })`kubectl wait --for=condition=Available apiservice/v1beta1.metrics.k8s.io --timeout=${secs}s`;
  // A restart is harmless when nothing stopped (kwokctl then starts nothing), so ask early.
  if ((await wait(25)).exitCode === 0) return;
  log('metrics API not available after 25s: starting the components that stopped (kwokctl start cluster)');
  await $({ env, quiet: true })`${inside()} kwokctl --name ${bedName} start cluster`;
  const r = await wait(120);
  if (r.exitCode !== 0) throw new Error(`metrics API not available: ${r.stderr.trim()}`);
}

async function create(
  env: NodeJS.ProcessEnv,
  log: (m: string) => void,
  timings: Record<string, number>,
): Promise<void> {
  const t0 = Date.now();
  const lap = (what: string) => (timings[what] = Number(((Date.now() - t0) / 1000).toFixed(1)));
  // Images build (or are found) on this machine while the bed starts.
  const images = ensureImages(log);
  images.catch(() => undefined);
  const state: BedState = await startNamespace();
  state.apiPort = await freePort();
  writeState(state);
  const cfgFile = path.join(bedDir, 'kwokctl.yaml');
  fs.writeFileSync(cfgFile, kwokctlConfig(state.apiPort));
  const controlPlane = (async () => {
    await $({
      env,
      quiet: true,
    })`${inside(state)} kwokctl --name ${bedName} --config ${cfgFile} create cluster --kubeconfig ${kubeconfigPath} --wait 3m`;
    lap('control plane');
    await startApiRelay(state);
  })();
  const runtime = (async () => {
    await startContainerd(state);
    lap('containerd');
    const imported = await importImages(paths.containerdSock, await images, log);
    if (imported.length) timings['image import'] = Number(imported.reduce((s, i) => s + i.seconds, 0).toFixed(1));
    lap('images ready');
  })();
  // Both must settle before anything else (a failure in one must not leave the other running unseen).
  const [cp, rt] = await Promise.allSettled([controlPlane, runtime]);
  if (cp.status === 'rejected') throw cp.reason;
  if (rt.status === 'rejected') throw rt.reason;
  await startNodeAgents(state, kubectl);
  lap('real node ready');
  log(
    `test bed ${bedName} up in ${((Date.now() - t0) / 1000).toFixed(1)}s (${Object.entries(timings)
      .map(([k, v]) => `${k} ${v}s`)
      .join(', ')})`,
  );
}

/** The last lines of every component's log: what CI shows when the bed fails to come up. */
function componentLogTails(lines = 8): string {
  const dir = path.join(clusterDir, 'logs');
  const cp = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .map(
          (f) =>
            `--- ${f}\n${fs.readFileSync(path.join(dir, f), 'utf8').trimEnd().split('\n').slice(-lines).join('\n')}`,
        )
        .join('\n')
    : '(no control plane logs)';
  return `${cp}\n${nodeLogTails(lines)}`;
}

/** Stops the bed and removes its state; safe to call on a bed that is not (fully) there. */
export async function down(): Promise<void> {
  await (await import('./kagent.ts')).kagentDown({ keepObjects: true });
  const state = readState();
  if (state && alive(state.holderPid)) {
    // kwokctl stops the control plane it started (inside the namespace).
    await $({
      env: bedEnv(),
      nothrow: true,
      quiet: true,
      timeout: '60s',
    })`${inside(state)} kwokctl --name ${bedName} delete cluster --kubeconfig ${kubeconfigPath}`;
  } else {
    await $({
      env: bedEnv(),
      nothrow: true,
      quiet: true,
      timeout: '60s',
    })`kwokctl --name ${bedName} delete cluster --kubeconfig ${kubeconfigPath}`;
  }
  await stopNode();
  fs.rmSync(kubeconfigPath, { force: true });
  // The context bootstrap merged into the user's kubeconfig points at a cluster that is gone now.
  (await import('./local-target.ts')).removeLocalContext();
}
