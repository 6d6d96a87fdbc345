// The bed's own network + mount namespace and the real node inside it.
//
// One process (`unshare --net --mount --propagation private sleep infinity`)
// holds the namespaces; everything else of the bed (the control plane wired by
// kwokctl, containerd, kubelet, kube-proxy, CoreDNS) is started in them with
// nsenter. Inside, the only interfaces are lo and the cni0 bridge
// (10.244.1.1/24), which is also the default route: pod and Service addresses
// exist only there and no packet can leave the machine. The few paths the
// kubelet and containerd hard-code (/run/containerd, /var/lib/kubelet/...,
// /var/lib/cni, /var/log/pods) are written into overlays that live in a tmpfs
// of the namespace; the kernel settings the kubelet would change machine-wide
// are masked by bind mounts; kubelet's cgroups live under the bed's own cgroup.
// Tearing the bed down kills what runs in it and removes its cgroups: nothing is
// left on the host (test/cluster/real-node-host.test.ts checks it).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { $ } from 'zx';
import YAML from 'yaml';
import {
  binDir,
  bedDir,
  bedName,
  bedSrc,
  cgroupName,
  clusterDir,
  kubeconfigPath,
  nodeCacheDir,
  nodeDir,
  statePath,
} from './layout.ts';
import { pauseRef } from './images.ts';
import { findCommand, notInstalled } from '../preflight/system.ts';

export const realNodeName = 'real-0';
const bridgeIP = '10.244.1.1';
const podSubnet = '10.244.1.0/24';
/** Only pods that tolerate this land on the real node (kwok's fake pods never do). */
const realNodeTaint = { key: 'todo-ops.test/real-node', value: 'true', effect: 'NoSchedule' } as const;
const realNodeLabel = { type: 'real' } as const;

/** What the bed records about its running processes, for reuse and for teardown. */
export interface BedState {
  holderPid: number;
  /** /proc/PID/ns/net of the holder, e.g. net:[4026532301]: how bed processes are found */
  netns: string;
  apiPort: number;
  pids: Record<string, number>;
}

export function readState(): BedState | undefined {
  try {
    return JSON.parse(fs.readFileSync(statePath, 'utf8')) as BedState;
  } catch {
    return undefined;
  }
}
export function writeState(s: BedState): void {
  fs.writeFileSync(statePath, JSON.stringify(s, null, 2));
}

export const paths = {
  logs: path.join(nodeDir, 'logs'),
  containerdSock: path.join(nodeDir, 'containerd.sock'),
  apiSock: path.join(nodeDir, 'api.sock'),
  volumes: path.join(nodeDir, 'volumes'),
};

export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function netnsOf(pid: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/** argv prefix that runs a command inside the bed's namespaces. */
export function inside(state: BedState = readState()!): string[] {
  if (!state || !alive(state.holderPid)) throw new Error(`test bed ${bedName} is not running (npm run cluster:up)`);
  return ['nsenter', '-t', String(state.holderPid), '-n', '-m', '--'];
}

/** Runs a command inside the bed and captures its output (throws on failure). */
export async function insideExec(
  args: string[],
  opts: { input?: string; nothrow?: boolean; timeout?: `${number}s` } = {},
) {
  const argv = [...inside(), ...args];
  return $({
    quiet: true,
    input: opts.input,
    nothrow: opts.nothrow,
    timeout: opts.timeout ?? '60s',
    env: bedProcessEnv(),
  })`${argv}`;
}

/** The environment of every bed process: the cached tools first on PATH, no TS loader, the bed's kubeconfig. */
export function bedProcessEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${binDir}:${process.env.PATH}`, KUBECONFIG: kubeconfigPath };
  delete env.NODE_OPTIONS;
  return env;
}

/** The last lines of one of the bed's process logs, for an error that says why it stopped. */
export const logTail = (name: string, lines = 15): string => {
  try {
    return fs
      .readFileSync(path.join(paths.logs, `${name}.log`), 'utf8')
      .trimEnd()
      .split('\n')
      .slice(-lines)
      .join('\n');
  } catch {
    return '(no log)';
  }
};

export class ComponentError extends Error {}

/** Starts a long-running bed process (detached, logging to logs/NAME.log), inside the namespaces unless host is set. */
function startProcess(state: BedState, name: string, argv: string[], opts: { host?: boolean } = {}): number {
  const full = opts.host ? argv : [...inside(state), ...argv];
  // A missing binary is named with its package here, not found later as
  // "nsenter: failed to execute containerd: No such file or directory" in a log.
  const env = bedProcessEnv();
  for (const cmd of new Set([full[0]!, argv[0]!]))
    if (!(path.isAbsolute(cmd) ? fs.existsSync(cmd) : findCommand(cmd, env.PATH)))
      throw new ComponentError(`${name} cannot start: ${notInstalled(path.basename(cmd))}`);
  fs.mkdirSync(paths.logs, { recursive: true });
  const fd = fs.openSync(path.join(paths.logs, `${name}.log`), 'a');
  const child = spawn(full[0]!, full.slice(1), {
    detached: true,
    stdio: ['ignore', fd, fd],
    env,
    cwd: nodeDir,
  });
  // A spawn failure shows as the missing pid below; unlistened, its error event would end the process.
  child.on('error', () => undefined);
  fs.closeSync(fd);
  child.unref();
  if (!child.pid) throw new ComponentError(`${name} did not start`);
  state.pids[name] = child.pid;
  writeState(state);
  return child.pid;
}

/** Waits for check() while the process lives; the component's log tail if it dies or times out. */
async function waitReady(name: string, pid: number, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(pid))
      throw new ComponentError(
        `${name} exited while starting; its log (${path.join(paths.logs, `${name}.log`)}) ends:\n${logTail(name)}`,
      );
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new ComponentError(
    `${name} was not ready within ${timeoutMs / 1000}s; its log (${path.join(paths.logs, `${name}.log`)}) ends:\n${logTail(name)}`,
  );
}

// ------------------------------------------------------------------ namespace

/** The kubelet's machine-wide kernel settings (pkg/kubelet/cm setupKernelTunables), masked with its own values. */
const kernelTunables: Record<string, string> = {
  'vm/overcommit_memory': '1',
  'vm/panic_on_oom': '0',
  'kernel/panic': '10',
  'kernel/panic_on_oops': '1',
  'kernel/keys/root_maxkeys': '1000000',
  'kernel/keys/root_maxbytes': '25000000',
};

const v1Controllers = (): string[] =>
  fs
    .readdirSync('/sys/fs/cgroup')
    .filter((c) => c !== 'unified' && fs.existsSync(path.join('/sys/fs/cgroup', c, 'cgroup.procs')));

function createCgroups(): void {
  if (fs.existsSync('/sys/fs/cgroup/cgroup.controllers'))
    throw new ComponentError(
      'the real node is set up for cgroup v1 (per-controller hierarchies, as on these machines); this machine has cgroup v2 only',
    );
  for (const c of v1Controllers()) {
    const dir = path.join('/sys/fs/cgroup', c, cgroupName);
    fs.mkdirSync(dir, { recursive: true });
    if (c === 'cpuset')
      for (const f of ['cpuset.cpus', 'cpuset.mems'])
        fs.writeFileSync(path.join(dir, f), fs.readFileSync(path.join('/sys/fs/cgroup', c, f), 'utf8'));
  }
}

/** Creates the namespaces and everything in them that is not a process: links, routes, overlays, masks. */
async function createNamespace(): Promise<BedState> {
  fs.mkdirSync(nodeDir, { recursive: true });
  const state: BedState = { holderPid: 0, netns: '', apiPort: 0, pids: {} };
  for (const cmd of ['unshare', 'nsenter'])
    if (!findCommand(cmd)) throw new ComponentError(`the bed namespace cannot be made: ${notInstalled(cmd)}`);
  const holder = spawn('unshare', ['--net', '--mount', '--propagation', 'private', '--', 'sleep', 'infinity'], {
    detached: true,
    stdio: 'ignore',
  });
  holder.unref();
  state.holderPid = holder.pid!;
  state.pids.holder = holder.pid!;
  // unshare execs sleep once the namespaces exist: wait for the namespace to differ from ours.
  const own = netnsOf(process.pid);
  const deadline = Date.now() + 10_000;
  while (!netnsOf(holder.pid!) || netnsOf(holder.pid!) === own) {
    if (!alive(holder.pid) || Date.now() > deadline)
      throw new ComponentError('unshare could not create the bed namespaces (needs root)');
    await new Promise((r) => setTimeout(r, 20));
  }
  state.netns = netnsOf(holder.pid!)!;
  writeState(state);

  const sysctlDir = path.join(nodeDir, 'sysctl');
  fs.mkdirSync(sysctlDir, { recursive: true });
  for (const [k, v] of Object.entries(kernelTunables))
    fs.writeFileSync(path.join(sysctlDir, k.replaceAll('/', '.')), `${v}\n`);
  const resolv = path.join(nodeDir, 'resolv.conf');
  fs.writeFileSync(
    resolv,
    `nameserver ${bridgeIP}\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n`,
  );
  const ovl = path.join(nodeDir, 'overlays');
  fs.mkdirSync(ovl, { recursive: true });
  const script = [
    'set -eu',
    'ip link set lo up',
    'ip link add cni0 type bridge',
    `ip addr add ${bridgeIP}/24 dev cni0`,
    'ip link set cni0 up',
    // kube-apiserver needs a default route; this one leads nowhere but the bridge.
    'ip route add default dev cni0',
    'sysctl -qw net.ipv4.ip_forward=1',
    `mount -t tmpfs -o mode=0755 todo-ops-bed-overlays ${ovl}`,
    // Hard-coded paths of kubelet, containerd and CNI: writable here, untouched on the host.
    ...['run', 'var/lib', 'var/log'].map((d) => {
      const n = d.replace('/', '-');
      return `mkdir -p ${ovl}/${n}/upper ${ovl}/${n}/work && mount -t overlay -o lowerdir=/${d},upperdir=${ovl}/${n}/upper,workdir=${ovl}/${n}/work todo-ops-bed-${n} /${d}`;
    }),
    ...Object.keys(kernelTunables).map((k) => `mount --bind ${sysctlDir}/${k.replaceAll('/', '.')} /proc/sys/${k}`),
    `mount --bind ${resolv} /etc/resolv.conf`,
  ].join('\n');
  const r = await $({ quiet: true, nothrow: true, input: script })`nsenter -t ${state.holderPid} -n -m -- sh -s`;
  if (r.exitCode !== 0) {
    // sh's "sh: 2: ip: not found": the command and its package, not the shell's words.
    const absent = /: (\S+): not found$/m.exec(r.stderr)?.[1];
    throw new ComponentError(`setting up the bed namespace failed: ${absent ? notInstalled(absent) : `\n${r.stderr}`}`);
  }
  createCgroups();
  return state;
}

export async function startNamespace(): Promise<BedState> {
  return createNamespace();
}

// ------------------------------------------------------------------ API relay

const canConnect = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });

/** The API server listens on 127.0.0.1:PORT inside the bed; relays make the same address work on this machine. */
export async function startApiRelay(state: BedState): Promise<void> {
  const relay = path.join(bedSrc, 'relay.mjs');
  const inner = startProcess(state, 'relay-bed', [
    process.execPath,
    relay,
    'unix-to-tcp',
    paths.apiSock,
    '127.0.0.1',
    String(state.apiPort),
  ]);
  await waitReady('relay-bed', inner, async () => fs.existsSync(paths.apiSock), 10_000);
  const outer = startProcess(
    state,
    'relay-host',
    [process.execPath, relay, 'tcp-to-unix', '127.0.0.1', String(state.apiPort), paths.apiSock],
    { host: true },
  );
  await waitReady('relay-host', outer, () => canConnect(state.apiPort), 10_000);
}

/**
 * Makes a TCP port of this machine's loopback reachable as 127.0.0.1:PORT inside
 * the bed too, for a server a test runs on the host that the bed's API server
 * must reach (e.g. a kwok kubelet stand-in registering a Node at 127.0.0.1).
 * Returns the function that removes it again.
 */
export async function exposeHostPort(port: number): Promise<() => Promise<void>> {
  const state = readState();
  if (!state || !alive(state.holderPid)) throw new Error(`test bed ${bedName} is not running`);
  const relay = path.join(bedSrc, 'relay.mjs');
  const sock = path.join(nodeDir, `host-port-${port}.sock`);
  const names = [`expose-${port}-host`, `expose-${port}-bed`];
  const hostSide = startProcess(
    state,
    names[0]!,
    [process.execPath, relay, 'unix-to-tcp', sock, '127.0.0.1', String(port)],
    { host: true },
  );
  await waitReady(names[0]!, hostSide, async () => fs.existsSync(sock), 10_000);
  const bedSide = startProcess(state, names[1]!, [
    process.execPath,
    relay,
    'tcp-to-unix',
    '127.0.0.1',
    String(port),
    sock,
  ]);
  await waitReady(names[1]!, bedSide, async () => logTail(names[1]!, 3).includes('listening'), 10_000);
  return async () => {
    killAll([hostSide, bedSide], 'SIGTERM');
    await waitGone(() => [hostSide, bedSide].filter((p) => alive(p)), 5_000);
    const now = readState();
    if (now) {
      for (const n of names) delete now.pids[n];
      writeState(now);
    }
    fs.rmSync(sock, { force: true });
  };
}

// ------------------------------------------------------------------ the real node

function pki(f: string): string {
  return path.join(clusterDir, 'pki', f);
}

function writeConfigs(): Record<string, string> {
  const f = (name: string, text: string) => {
    const p = path.join(nodeDir, name);
    fs.writeFileSync(p, text);
    return p;
  };
  const cniConf = path.join(nodeDir, 'cni');
  fs.mkdirSync(cniConf, { recursive: true });
  fs.mkdirSync(path.join(nodeCacheDir, 'containerd'), { recursive: true });
  fs.mkdirSync(paths.volumes, { recursive: true });
  fs.writeFileSync(
    path.join(cniConf, '10-bed.conflist'),
    JSON.stringify(
      {
        cniVersion: '1.0.0',
        name: 'bed',
        plugins: [
          {
            type: 'bridge',
            bridge: 'cni0',
            isGateway: true,
            ipMasq: false,
            hairpinMode: true,
            ipam: {
              type: 'host-local',
              dataDir: path.join(nodeDir, 'ipam'),
              ranges: [[{ subnet: podSubnet, rangeStart: '10.244.1.10', gateway: bridgeIP }]],
              routes: [{ dst: '0.0.0.0/0' }],
            },
          },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      },
      null,
      2,
    ),
  );
  const containerd = f(
    'containerd.toml',
    `version = 2
root = ${JSON.stringify(path.join(nodeCacheDir, 'containerd'))}
state = ${JSON.stringify(path.join(nodeDir, 'containerd-state'))}
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = ${JSON.stringify(paths.containerdSock)}
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${JSON.stringify(pauseRef)}
  stream_server_address = "127.0.0.1"
  stream_server_port = "10010"
  enable_selinux = false
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  max_container_log_line_size = 16384
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = ${JSON.stringify(cniConf)}
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
`,
  );
  const kubelet = f(
    'kubelet.yaml',
    YAML.stringify({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      cgroupDriver: 'cgroupfs',
      cgroupRoot: `/${cgroupName}`,
      failSwapOn: false,
      failCgroupV1: false,
      containerRuntimeEndpoint: `unix://${paths.containerdSock}`,
      address: bridgeIP,
      port: 10250,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      healthzPort: 10248,
      authentication: {
        x509: { clientCAFile: pki('ca.crt') },
        webhook: { enabled: true },
        anonymous: { enabled: false },
      },
      authorization: { mode: 'Webhook' },
      clusterDNS: [bridgeIP],
      clusterDomain: 'cluster.local',
      resolvConf: '',
      volumePluginDir: path.join(nodeDir, 'volume-plugins'),
      registerWithTaints: [realNodeTaint],
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      evictionHard: {
        'memory.available': '100Mi',
        'nodefs.available': '1%',
        'imagefs.available': '1%',
        'nodefs.inodesFree': '1%',
      },
      maxPods: 30,
      serializeImagePulls: false,
      // Restarts and status show up quickly in tests.
      nodeStatusUpdateFrequency: '5s',
      syncFrequency: '10s',
      fileCheckFrequency: '10s',
      shutdownGracePeriod: '0s',
      protectKernelDefaults: false,
    }),
  );
  const proxy = f(
    'kube-proxy.yaml',
    YAML.stringify({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      clientConnection: { kubeconfig: kubeconfigPath },
      hostnameOverride: realNodeName,
      bindAddress: bridgeIP,
      healthzBindAddress: '127.0.0.1:10256',
      metricsBindAddress: '127.0.0.1:10249',
      mode: 'iptables',
      clusterCIDR: podSubnet,
      nodePortAddresses: [`${bridgeIP}/32`],
      iptables: { localhostNodePorts: false, syncPeriod: '10s', minSyncPeriod: '0s' },
      // 0: leave the machine-wide conntrack sysctls alone.
      conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    }),
  );
  const corefile = f(
    'Corefile',
    `cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {
    bind ${bridgeIP}
    errors
    ready 127.0.0.1:8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfigPath}
        pods insecure
        ttl 5
    }
    cache 5
    loadbalance
}
.:53 {
    bind ${bridgeIP}
    # No upstream: names outside the cluster do not exist in the bed.
    template ANY ANY {
        rcode NXDOMAIN
    }
}
`,
  );
  return { containerd, kubelet, proxy, corefile };
}

const ctr = (args: string[]) =>
  $({ quiet: true, nothrow: true, timeout: '30s' })`ctr -a ${paths.containerdSock} ${args}`;

/** containerd first (images can be imported while the control plane starts). */
export async function startContainerd(state: BedState): Promise<void> {
  const cfg = writeConfigs();
  const pid = startProcess(state, 'containerd', ['containerd', '--config', cfg.containerd!]);
  await waitReady('containerd', pid, async () => (await ctr(['version'])).exitCode === 0, 30_000);
  // Containers recorded by an earlier bed (its processes are gone) would only
  // confuse the new kubelet: the store keeps images, not containers.
  const stale = (await ctr(['-n', 'k8s.io', 'containers', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
  if (stale.length) await ctr(['-n', 'k8s.io', 'containers', 'rm', ...stale]);
}

/** kubelet, kube-proxy and CoreDNS: need the API server (and the relay for the checks). */
export async function startNodeAgents(state: BedState, kubectl: (args: string[]) => Promise<string>): Promise<void> {
  const cfg = {
    kubelet: path.join(nodeDir, 'kubelet.yaml'),
    proxy: path.join(nodeDir, 'kube-proxy.yaml'),
    corefile: path.join(nodeDir, 'Corefile'),
  };
  const kubelet = startProcess(state, 'kubelet', [
    path.join(binDir, 'kubelet'),
    '--config',
    cfg.kubelet,
    '--kubeconfig',
    kubeconfigPath,
    '--root-dir',
    path.join(nodeDir, 'kubelet'),
    '--hostname-override',
    realNodeName,
    '--node-ip',
    bridgeIP,
    '--node-labels',
    Object.entries(realNodeLabel)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  ]);
  const proxy = startProcess(state, 'kube-proxy', [path.join(binDir, 'kube-proxy'), '--config', cfg.proxy]);
  const dns = startProcess(state, 'coredns', [path.join(binDir, 'coredns'), '-conf', cfg.corefile]);
  const nodeReady = async () =>
    (await kubectl(['get', 'node', realNodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])) ===
    'True';
  await Promise.all([
    waitReady('kubelet', kubelet, nodeReady, 90_000),
    // Synced: its chain for the API server's own Service exists.
    waitReady(
      'kube-proxy',
      proxy,
      async () =>
        (await insideExec(['iptables', '-w', '-t', 'nat', '-S', 'KUBE-SERVICES'], { nothrow: true })).stdout.includes(
          'default/kubernetes',
        ),
      60_000,
    ),
    waitReady(
      'coredns',
      dns,
      async () =>
        (await insideExec(['curl', '-sf', '-m', '2', 'http://127.0.0.1:8181/ready'], { nothrow: true })).exitCode === 0,
      60_000,
    ),
  ]);
}

/** Logs of the node's components, for a bed that failed to come up. */
export function nodeLogTails(lines = 8): string {
  if (!fs.existsSync(paths.logs)) return '';
  return fs
    .readdirSync(paths.logs)
    .map((f) => `--- ${f}\n${logTail(f.replace(/\.log$/, ''), lines)}`)
    .join('\n');
}

// ------------------------------------------------------------------ teardown

/** Every process of this bed: the recorded ones, those in its network namespace, those in its cgroups. */
function bedProcesses(state: BedState | undefined = readState()): number[] {
  const found = new Set<number>();
  if (state) {
    for (const pid of Object.values(state.pids)) if (alive(pid) && ownedByBed(pid)) found.add(pid);
    // Only while one of its own processes holds it: a freed namespace's inode could be another bed's later.
    const held = [...found].some((p) => netnsOf(p) === state.netns);
    if (held)
      for (const e of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(e)) continue;
        if (netnsOf(Number(e)) === state.netns && alive(Number(e))) found.add(Number(e));
      }
  }
  for (const pid of cgroupProcesses()) found.add(pid);
  found.delete(process.pid);
  return [...found];
}

/** A recorded pid still belongs to the bed (pids get reused): its command line names the bed's files or tools. */
function ownedByBed(pid: number): boolean {
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes(`${bedDir}/`) || cmd.includes('sleep\0infinity') || cmd.includes(binDir);
  } catch {
    return false;
  }
}

/** Every hierarchy the bed's cgroups can be in: the v1 controllers, and the cgroup2 one that runc also writes to in hybrid mode. */
const hierarchies = (): string[] => [
  ...v1Controllers(),
  ...(fs.existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? ['unified'] : []),
];

function cgroupDirs(): string[] {
  const dirs: string[] = [];
  for (const c of hierarchies()) {
    const root = path.join('/sys/fs/cgroup', c, cgroupName);
    if (!fs.existsSync(root)) continue;
    const walk = (d: string) => {
      dirs.push(d);
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
    };
    walk(root);
  }
  return dirs;
}

function cgroupProcesses(): number[] {
  const pids: number[] = [];
  for (const d of cgroupDirs()) {
    try {
      pids.push(...fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
    } catch {
      /* removed meanwhile */
    }
  }
  return pids;
}

function killAll(pids: number[], signal: NodeJS.Signals): void {
  for (const p of pids)
    try {
      process.kill(p, signal);
    } catch {
      /* gone */
    }
}

async function waitGone(get: () => number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = get();
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = get();
  }
  return left;
}

/**
 * Stops everything the bed runs and removes what it made on the host. Pods
 * first (SIGKILL: a test bed keeps no data), then the agents and the control
 * plane (SIGTERM, then SIGKILL), then the namespace holder: with it go the
 * interfaces, routes, iptables rules and mounts, which exist only inside.
 */
export async function stopNode(): Promise<void> {
  const state = readState();
  // Containers: in the bed's cgroups (their own network namespaces).
  killAll(cgroupProcesses(), 'SIGKILL');
  await waitGone(cgroupProcesses, 10_000);
  const holder = state?.holderPid;
  const others = () => bedProcesses(state).filter((p) => p !== holder);
  killAll(others(), 'SIGTERM');
  const left = await waitGone(others, 10_000);
  if (left.length) {
    killAll(left, 'SIGKILL');
    await waitGone(others, 5_000);
  }
  if (holder && alive(holder) && ownedByBed(holder)) {
    killAll([holder], 'SIGKILL');
    await waitGone(() => (alive(holder) ? [holder] : []), 5_000);
  }
  // Depth first: kubelet's pod cgroups, then the bed's own.
  for (const d of cgroupDirs().sort((a, b) => b.length - a.length))
    try {
      fs.rmdirSync(d);
    } catch {
      /* busy: reported by the caller's check */
    }
  fs.rmSync(nodeDir, { recursive: true, force: true });
  fs.rmSync(statePath, { force: true });
}
