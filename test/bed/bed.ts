// The real test cluster: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok-controller and metrics-server as local processes wired by
// kwokctl, all on 127.0.0.1. No containers run: kwok's stages play the kubelet.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { $ } from 'zx';
import { parse } from 'dotenv';
import YAML from 'yaml';

const here = import.meta.dirname;
const versions = parse(fs.readFileSync(path.join(here, 'versions.env')));
const cacheRoot = path.join(os.homedir(), '.cache', 'todo-chatbot-ops');
export const toolsDir = process.env.TODO_OPS_TOOLS_DIR ?? path.join(cacheRoot, 'tools');
export const binDir = path.join(toolsDir, 'bin');
export const bedName = process.env.TODO_OPS_BED_NAME ?? 'todo-ops-bed';
export const bedDir = process.env.TODO_OPS_BED_DIR ?? path.join(cacheRoot, 'bed', bedName);
export const kubeconfigPath = path.join(bedDir, 'kubeconfig');
/** Fake nodes: enough room for every test's pods. */
export const nodes = ['bed-node-1', 'bed-node-2'];

/** PATH and KUBECONFIG for anything run against the bed (helm and kubectl from the cache). */
export function bedEnv(): NodeJS.ProcessEnv {
  return { ...process.env, KUBECONFIG: kubeconfigPath, PATH: `${binDir}${path.delimiter}${process.env.PATH}`, KWOK_WORKDIR: path.join(bedDir, 'kwok') };
}

/** Builds (cold) or finds (warm) every binary; see build-tools.sh. */
export async function buildTools(): Promise<void> {
  await $({ stdio: ['ignore', 'ignore', 'inherit'] })`bash ${path.join(here, 'build-tools.sh')}`;
}

function kwokctlConfig(): string {
  const stages = path.join(toolsDir, `kwok-stages-${versions.KWOK_VERSION}`);
  const stageFiles = [
    'node/fast/node-initialize.yaml',
    'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
    'pod/fast/pod-ready.yaml',
    'pod/fast/pod-complete.yaml',
    'pod/fast/pod-delete.yaml',
    'pod/chaos/pod-container-running-failed.yaml',
  ].map((f) => fs.readFileSync(path.join(stages, f), 'utf8'));
  const cfg = {
    apiVersion: 'config.kwok.x-k8s.io/v1alpha1',
    kind: 'KwokctlConfiguration',
    options: {
      runtime: 'binary',
      kubeVersion: versions.KUBE_VERSION,
      bindAddress: '127.0.0.1',
      kubeApiserverBinary: path.join(binDir, 'kube-apiserver'),
      kubeControllerManagerBinary: path.join(binDir, 'kube-controller-manager'),
      kubeSchedulerBinary: path.join(binDir, 'kube-scheduler'),
      kubectlBinary: path.join(binDir, 'kubectl'),
      etcdBinary: path.join(binDir, 'etcd'),
      kwokControllerBinary: path.join(binDir, 'kwok'),
      metricsServerBinary: path.join(binDir, 'metrics-server'),
      enableMetricsServer: true,
      metricsServerManifests: [path.join(here, 'kwok', 'metrics-server')],
      disableQPSLimits: true,
      cacheDir: path.join(bedDir, 'cache'),
    },
    // Fake nodes get loopback addresses so metrics scraping and log proxying stay on this machine.
    componentsPatches: [
      { name: 'kwok-controller', extraArgs: [{ key: 'node-ip', value: '127.0.0.1' }] },
      // metrics-server's shortest resolution: usage shows up sooner after a pod starts.
      { name: 'metrics-server', extraArgs: [{ key: 'metric-resolution', value: '10s' }, { key: 'kubelet-request-timeout', value: '5s' }] },
    ],
  };
  return [YAML.stringify(cfg), ...stageFiles, fs.readFileSync(path.join(here, 'kwok', 'crashloop-stage.yaml'), 'utf8')].join('\n---\n');
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
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok' },
    },
    spec: {},
    status: {
      allocatable: nodeResources,
      capacity: nodeResources,
      nodeInfo: { architecture: 'amd64', kubeletVersion: 'fake', operatingSystem: 'linux', kubeProxyVersion: 'fake' },
    },
  };
}

async function healthy(): Promise<boolean> {
  if (!fs.existsSync(kubeconfigPath)) return false;
  const r = await $({ env: bedEnv(), nothrow: true, quiet: true, timeout: '10s' })`kubectl get --raw /readyz`;
  return r.exitCode === 0;
}

/** Starts the bed, or reuses a healthy one (created: false). */
export async function up(log: (m: string) => void = () => undefined): Promise<{ kubeconfig: string; created: boolean }> {
  await buildTools();
  const env = bedEnv();
  const reuse = await healthy();
  if (reuse) {
    log(`reusing the running test bed ${bedName}`);
  } else {
    await down();
    fs.mkdirSync(bedDir, { recursive: true });
    const cfgFile = path.join(bedDir, 'kwokctl.yaml');
    fs.writeFileSync(cfgFile, kwokctlConfig());
    log(`creating test bed ${bedName}`);
    const t0 = Date.now();
    await $({ env, quiet: true })`kwokctl --name ${bedName} --config ${cfgFile} create cluster --kubeconfig ${kubeconfigPath} --wait 3m`;
    log(`control plane up in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  }
  try {
    // Idempotent: nodes and waits are cheap when already there.
    await $({ env, quiet: true, input: nodes.map((n) => JSON.stringify(nodeManifest(n))).join('\n') })`kubectl apply --server-side -f -`;
    // Apply does not touch status: a bed started by an older checkout gets today's capacity here.
    for (const n of nodes)
      await $({ env, quiet: true })`kubectl patch node ${n} --subresource=status --type=merge -p ${JSON.stringify({ status: { allocatable: nodeResources, capacity: nodeResources } })}`;
    await $({ env, quiet: true })`kubectl wait --for=condition=Ready node --all --timeout=120s`;
    await $({ env, quiet: true })`kubectl wait --for=condition=Available apiservice/v1beta1.metrics.k8s.io --timeout=120s`;
    // The service account controller makes "default" shortly after a namespace appears; pods need it.
    await $({ env, quiet: true })`kubectl wait --for=create serviceaccount/default -n default --timeout=60s`;
  } catch (e) {
    log(`test bed not ready: ${String((e as Error).message).trim()}\n${componentLogTails()}`);
    throw e;
  }
  return { kubeconfig: kubeconfigPath, created: !reuse };
}

/** The last lines of every component's log: what CI shows when the bed fails to come up. */
function componentLogTails(lines = 8): string {
  const dir = path.join(bedDir, 'kwok', 'clusters', bedName, 'logs');
  if (!fs.existsSync(dir)) return '(no component logs)';
  return fs
    .readdirSync(dir)
    .map((f) => `--- ${f}\n${fs.readFileSync(path.join(dir, f), 'utf8').trimEnd().split('\n').slice(-lines).join('\n')}`)
    .join('\n');
}

export async function down(): Promise<void> {
  const env = bedEnv();
  await $({ env, nothrow: true, quiet: true })`kwokctl --name ${bedName} delete cluster --kubeconfig ${kubeconfigPath}`;
  fs.rmSync(kubeconfigPath, { force: true });
}
