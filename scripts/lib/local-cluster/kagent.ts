// The real kagent on the test bed, opt-in (cluster:up --with-kagent, or
// TODO_OPS_BED_KAGENT=1): kagent v0.9.12's 8 CRDs, a PostgreSQL for it (the
// project's stand-in image, on the real node), its controller and its MCP tool
// server (kagent-tools), and the agent runtime image on the real node.
//
// Where each part runs, and why: pods on the real node cannot reach the API
// server (it listens on 127.0.0.1 inside the bed), and the controller and the
// tools need the API; so they run as bed processes inside the bed's network +
// mount namespace (they die with it), listening on the bridge address too. The
// agent pods need only the controller, the tools and the model: selector-less
// Services (kagent-controller:8083, kagent-tools:8084 in namespace kagent) with
// EndpointSlices on the node's address take them there. A relay makes the
// controller reachable from this machine (kagent invoke --kagent-url, doctor).
// Works on a bed that is already up; kagentDown() removes it again, and the
// bed's own teardown ends it with everything else.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { $ } from 'zx';
import { ensurePostgresStandin } from './image-builds.ts';
import { importImages } from './images.ts';
import { ensureKagentImage, kagentImage, kagentVersion, vendorDir } from './kagent-image.ts';
import { bedDir, bedSrc, kubeconfigPath } from './layout.ts';
import { freePort } from './net.ts';
import { alive, bedProcessEnv, inside, insideExec, logTail, paths, readState, realNodeName } from './node.ts';

export const kagentNamespace = 'kagent';
export { kagentVersion };
const controllerPort = 8083;
const toolsPort = 8084;
const statePath = path.join(bedDir, 'kagent.json');
const repoRoot = path.resolve(import.meta.dirname, '../../..');

/** Where the Agents' pods must run on the bed: the real node (the chart's kagent.placement). */
export const realNodePlacement = {
  nodeSelector: { type: 'real' },
  tolerations: [{ key: 'todo-ops.test/real-node', operator: 'Exists', effect: 'NoSchedule' }],
};

/** kagent is wanted on the bed: asked for by flag, or TODO_OPS_BED_KAGENT=1 (a test run's global setup). */
export function kagentWanted(flag = false): boolean {
  return flag || ['1', 'true'].includes(process.env.TODO_OPS_BED_KAGENT ?? '');
}

interface KagentState {
  pids: Record<string, number>;
  /** this machine's 127.0.0.1 port that reaches the controller */
  hostPort: number;
  nodeIP: string;
}

export interface KagentBed {
  /** the controller from this machine: TODO_KAGENT_URL, kagent invoke --kagent-url */
  controllerUrl: string;
  namespace: string;
  /** the address agent pods reach bed processes at (the real node's) */
  nodeIP: string;
  /** the bed processes, for tests that stop one */
  pids: Record<string, number>;
  /** seconds per phase */
  timings: Record<string, number>;
}

function readKagentState(): KagentState | undefined {
  try {
    return JSON.parse(fs.readFileSync(statePath, 'utf8')) as KagentState;
  } catch {
    return undefined;
  }
}

const kubectl = (args: string[], input?: string, timeout: `${number}s` = '120s') =>
  $({ env: bedProcessEnv(), quiet: true, input, timeout })`kubectl ${args}`;
const apply = (objs: object[]) =>
  kubectl(
    ['apply', '--server-side', '--force-conflicts', '--field-manager=todo-ops-bed', '-f', '-'],
    objs.map((o) => JSON.stringify(o)).join('\n'),
  );

/** Builds (cold) or finds (warm) the controller, CLI and tool server: test/bed/build-kagent.sh. */
export async function buildKagent(): Promise<{ controller: string; cli: string; tools: string }> {
  const r = await $({ quiet: true, timeout: '1800s' })`bash ${path.join(repoRoot, 'test/bed/build-kagent.sh')}`;
  const [controller, cli, tools] = r.stdout.trim().split('\n');
  return { controller: controller!, cli: cli!, tools: tools! };
}

/** Starts a long-running process inside the bed (logging to the node's logs/NAME.log), or on this machine with host. */
function startProcess(name: string, argv: string[], env: NodeJS.ProcessEnv, host = false): number {
  fs.mkdirSync(paths.logs, { recursive: true });
  const fd = fs.openSync(path.join(paths.logs, `${name}.log`), 'a');
  const full = host ? argv : [...inside(), ...argv];
  const child = spawn(full[0]!, full.slice(1), { detached: true, stdio: ['ignore', fd, fd], env, cwd: bedDir });
  child.on('error', () => undefined);
  fs.closeSync(fd);
  child.unref();
  if (!child.pid) throw new Error(`${name} did not start`);
  return child.pid;
}

/** Waits for check() while the process lives (a local process start-up: there is nothing to watch). */
async function waitUp(name: string, pid: number, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) throw new Error(`kagent: ${name} exited while starting; its log ends:\n${logTail(name, 20)}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`kagent: ${name} was not up within ${timeoutMs / 1000}s; its log ends:\n${logTail(name, 20)}`);
}

const dbHost = `kagent-postgresql.${kagentNamespace}.svc.cluster.local`;

const connectsInside = async (host: string, port: number) =>
  (
    await insideExec(
      [
        process.execPath,
        '-e',
        `require('node:net').connect(${port}, ${JSON.stringify(host)}).on('connect', () => process.exit(0)).on('error', () => process.exit(1))`,
      ],
      { nothrow: true, timeout: '10s' },
    )
  ).exitCode === 0;

const answersInside = async (url: string) =>
  (await insideExec(['curl', '-sf', '-o', '/dev/null', '-m', '2', url], { nothrow: true, timeout: '10s' })).exitCode ===
  0;

function crdDir(): string {
  const dir = vendorDir(`kagent-v${kagentVersion}`);
  if (!dir || !fs.existsSync(path.join(dir, 'crds')))
    throw new Error(`no kagent-v${kagentVersion}/crds under ../shared/vendor (set TODO_OPS_VENDOR_DIR)`);
  return path.join(dir, 'crds');
}

/** kagent.dev_agents.yaml -> agents.kagent.dev: the 8 CRDs the controller needs. */
const crdNames = () =>
  fs
    .readdirSync(crdDir())
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.replace(/^kagent\.dev_(.*)\.yaml$/, '$1.kagent.dev'));

/** A selector-less Service and its EndpointSlice: a bed process at the node's address, for pods. */
function processService(name: string, port: number, nodeIP: string): object[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: kagentNamespace },
      spec: { ports: [{ name: 'http', port, targetPort: port, protocol: 'TCP' }] },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-bed`, namespace: kagentNamespace, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port, protocol: 'TCP' }],
      endpoints: [{ addresses: [nodeIP], conditions: { ready: true } }],
    },
  ];
}

/** PostgreSQL for kagent (v0.9.12 has no SQLite): the project's stand-in image on the real node, data in an emptyDir. */
function postgres(image: string): object[] {
  const labels = { 'app.kubernetes.io/name': 'kagent-postgresql' };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'kagent-postgresql', namespace: kagentNamespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            ...realNodePlacement,
            containers: [
              {
                name: 'postgresql',
                image,
                imagePullPolicy: 'Never',
                env: [
                  { name: 'POSTGRES_DB', value: 'kagent' },
                  { name: 'POSTGRES_USER', value: 'kagent' },
                  {
                    name: 'POSTGRES_PASSWORD',
                    valueFrom: { secretKeyRef: { name: 'kagent-postgresql', key: 'password' } },
                  },
                  { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
                ],
                ports: [{ containerPort: 5432 }],
                readinessProbe: { exec: { command: ['pg_isready', '-U', 'kagent', '-d', 'kagent'] }, periodSeconds: 2 },
                volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }],
              },
            ],
            volumes: [{ name: 'data', emptyDir: {} }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kagent-postgresql', namespace: kagentNamespace },
      spec: { selector: labels, ports: [{ port: 5432, targetPort: 5432 }] },
    },
  ];
}

/** The password of kagent's PostgreSQL: made once, kept in its Secret (never on a command line). */
async function postgresPassword(): Promise<string> {
  const r = await $({
    env: bedProcessEnv(),
    quiet: true,
    nothrow: true,
    timeout: '20s',
  })`kubectl -n ${kagentNamespace} get secret kagent-postgresql -o jsonpath=${'{.data.password}'}`;
  if (r.exitCode === 0 && r.stdout.trim()) return Buffer.from(r.stdout.trim(), 'base64').toString();
  const password = crypto.randomBytes(18).toString('base64url');
  await apply([
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'kagent-postgresql', namespace: kagentNamespace },
      stringData: { password },
    },
  ]);
  return password;
}

/**
 * A ModelConfig "default-model-config" in namespace kagent (kagent's default
 * name) for an OpenAI-compatible model at baseUrl, with the API key from the
 * environment's OPENAI_API_KEY (a placeholder when unset: a local model needs none).
 */
export async function kagentModel(baseUrl: string, model = 'gpt-4o-mini'): Promise<void> {
  await apply([
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'kagent-openai', namespace: kagentNamespace },
      stringData: { OPENAI_API_KEY: process.env.OPENAI_API_KEY || 'not-needed-by-a-local-model' },
    },
    {
      apiVersion: 'kagent.dev/v1alpha2',
      kind: 'ModelConfig',
      metadata: { name: 'default-model-config', namespace: kagentNamespace },
      spec: {
        provider: 'OpenAI',
        model,
        apiKeySecret: 'kagent-openai',
        apiKeySecretKey: 'OPENAI_API_KEY',
        openAI: { baseUrl },
      },
    },
  ]);
}

async function nodeAddress(): Promise<string> {
  const r = await kubectl([
    'get',
    'node',
    realNodeName,
    '-o',
    'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}',
  ]);
  const ip = r.stdout.trim();
  if (!ip) throw new Error(`kagent: the real node ${realNodeName} has no InternalIP`);
  return ip;
}

/**
 * Adds kagent to the running bed (idempotent: a running kagent is reused).
 * modelUrl: an OpenAI-compatible endpoint for the default ModelConfig.
 */
export async function kagentUp(
  log: (m: string) => void = () => undefined,
  opts: { modelUrl?: string } = {},
): Promise<KagentBed> {
  const timings: Record<string, number> = {};
  let t = Date.now();
  const lap = (what: string) => {
    timings[what] = Number(((Date.now() - t) / 1000).toFixed(1));
    t = Date.now();
  };
  const bed = readState();
  if (!bed || !alive(bed.holderPid)) throw new Error('kagent: the test bed is not running (npm run cluster:up)');
  const [bins, image, pg] = await Promise.all([buildKagent(), ensureKagentImage(log), ensurePostgresStandin()]);
  lap('build');
  await importImages(paths.containerdSock, [{ ref: image.ref, what: 'kagent agent runtime' }], log);
  lap('image import');
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', crdDir()]);
  await kubectl(
    ['wait', '--for=condition=Established', ...crdNames().map((n) => `crd/${n}`), '--timeout=60s'],
    undefined,
    '90s',
  );
  await apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: kagentNamespace } }]);
  lap('crds');
  const nodeIP = await nodeAddress();
  const password = await postgresPassword();
  await apply([
    ...postgres(pg.ref),
    ...processService('kagent-controller', controllerPort, nodeIP),
    ...processService('kagent-tools', toolsPort, nodeIP),
  ]);
  await kubectl(
    ['-n', kagentNamespace, 'rollout', 'status', 'deployment/kagent-postgresql', '--timeout=120s'],
    undefined,
    '150s',
  );
  lap('postgresql');

  const old = readKagentState();
  const running = old && Object.values(old.pids).every((p) => alive(p)) ? old : undefined;
  let state: KagentState;
  if (running) {
    state = running;
    log('kagent: reusing the running controller and tool server');
  } else {
    if (old) await stopProcesses(old);
    // kagent's CLI default (http://localhost:8083) when free: a restarted kagent keeps the URL bootstrap recorded.
    state = { pids: {}, hostPort: await freePort(controllerPort), nodeIP };
    const base = bedProcessEnv();
    // The controller logs its whole config at start, a URL given by value included: the password goes in a file.
    const dbUrlFile = path.join(bedDir, 'kagent-database-url');
    fs.writeFileSync(
      dbUrlFile,
      `postgres://kagent:${encodeURIComponent(password)}@${dbHost}:5432/kagent?sslmode=disable`,
      { mode: 0o600 },
    );
    // The pod is Ready before kube-proxy's rules for the new Service are: the controller's migrations would be refused.
    await waitUp('kagent-postgresql', bed.holderPid, () => connectsInside(dbHost, 5432), 60_000);
    const probePort = 18082;
    state.pids['kagent-tools'] = startProcess(
      'kagent-tools',
      [bins.tools, '--port', String(toolsPort), '--kubeconfig', kubeconfigPath],
      base,
    );
    state.pids['kagent-controller'] = startProcess('kagent-controller', [bins.controller], {
      ...base,
      KAGENT_NAMESPACE: kagentNamespace,
      POSTGRES_DATABASE_URL_FILE: dbUrlFile,
      DATABASE_VECTOR_ENABLED: 'false',
      IMAGE_REGISTRY: kagentImage.registry,
      IMAGE_REPOSITORY: kagentImage.repository,
      IMAGE_TAG: kagentImage.tag,
      IMAGE_PULL_POLICY: 'Never',
      WATCH_NAMESPACES: '',
      HTTP_SERVER_ADDRESS: `:${controllerPort}`,
      HEALTH_PROBE_BIND_ADDRESS: `127.0.0.1:${probePort}`,
      METRICS_BIND_ADDRESS: '0',
    });
    // This machine's 127.0.0.1:hostPort -> a socket -> the controller inside the bed.
    const sock = path.join(bedDir, 'kagent-controller.sock');
    const relay = path.join(bedSrc, 'relay.mjs');
    state.pids['kagent-relay-bed'] = startProcess(
      'kagent-relay-bed',
      [process.execPath, relay, 'unix-to-tcp', sock, '127.0.0.1', String(controllerPort)],
      base,
    );
    fs.writeFileSync(statePath, JSON.stringify(state, null, 2));
    await waitUp('kagent-relay-bed', state.pids['kagent-relay-bed'], async () => fs.existsSync(sock), 10_000);
    state.pids['kagent-relay-host'] = startProcess(
      'kagent-relay-host',
      [process.execPath, relay, 'tcp-to-unix', '127.0.0.1', String(state.hostPort), sock],
      base,
      true,
    );
    fs.writeFileSync(statePath, JSON.stringify(state, null, 2));
    await Promise.all([
      waitUp(
        'kagent-tools',
        state.pids['kagent-tools'],
        () => answersInside(`http://127.0.0.1:${toolsPort}/health`),
        60_000,
      ),
      waitUp(
        'kagent-controller',
        state.pids['kagent-controller'],
        () => answersInside(`http://127.0.0.1:${probePort}/readyz`),
        120_000,
      ),
    ]);
    await waitUp(
      'kagent-relay-host',
      state.pids['kagent-relay-host'],
      async () => (await fetch(`http://127.0.0.1:${state.hostPort}/version`)).ok,
      10_000,
    );
  }
  lap('controller and tools');
  // kagent's built-in tool server, open to Agents in every namespace (the tests' and the release's).
  await apply([
    {
      apiVersion: 'kagent.dev/v1alpha2',
      kind: 'RemoteMCPServer',
      metadata: { name: 'kagent-tool-server', namespace: kagentNamespace },
      spec: {
        description: "kagent's built-in Kubernetes and Helm tools (kagent-tools, a bed process)",
        url: `http://kagent-tools.${kagentNamespace}:${toolsPort}/mcp`,
        protocol: 'STREAMABLE_HTTP',
        allowedNamespaces: { from: 'All' },
      },
    },
  ]);
  if (opts.modelUrl) await kagentModel(opts.modelUrl);
  lap('tool server and model');
  return {
    controllerUrl: `http://127.0.0.1:${state.hostPort}`,
    namespace: kagentNamespace,
    nodeIP: state.nodeIP,
    pids: state.pids,
    timings,
  };
}

/** The running kagent of the bed, or undefined. */
export function kagentRunning(): KagentBed | undefined {
  const s = readKagentState();
  if (!s || !Object.values(s.pids).every((p) => alive(p))) return undefined;
  return {
    controllerUrl: `http://127.0.0.1:${s.hostPort}`,
    namespace: kagentNamespace,
    nodeIP: s.nodeIP,
    pids: s.pids,
    timings: {},
  };
}

async function stopProcesses(s: KagentState): Promise<void> {
  const pids = Object.values(s.pids).filter((p) => alive(p));
  // A test bed keeps nothing: the controller's 30 s grace period buys nothing here.
  for (const p of pids)
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  const deadline = Date.now() + 10_000;
  while (pids.some((p) => alive(p)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/**
 * Makes a server on this machine's unix socket reachable from pods at
 * http://<node address>:PORT (a relay inside the bed): how a test's scripted
 * model is reached by the agents. Returns its URL and the function that removes it.
 */
export async function exposeToPods(socket: string): Promise<{ url: string; close: () => Promise<void> }> {
  const s = readKagentState();
  const nodeIP = s?.nodeIP ?? (await nodeAddress());
  const port = await freePort();
  const name = `kagent-expose-${port}`;
  const pid = startProcess(
    name,
    [process.execPath, path.join(bedSrc, 'relay.mjs'), 'tcp-to-unix', nodeIP, String(port), socket],
    bedProcessEnv(),
  );
  await waitUp(name, pid, async () => logTail(name, 3).includes('listening'), 10_000);
  return {
    url: `http://${nodeIP}:${port}`,
    close: async () => {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      fs.rmSync(path.join(paths.logs, `${name}.log`), { force: true });
    },
  };
}

/**
 * Removes kagent from the running bed: its processes, namespace, the Agents
 * everywhere and its CRDs (after the controller is gone: deleting them under a
 * live controller breaks it). Safe when there is none.
 */
export async function kagentDown(opts: { keepObjects?: boolean } = {}): Promise<void> {
  const s = readKagentState();
  if (s) await stopProcesses(s);
  fs.rmSync(statePath, { force: true });
  fs.rmSync(path.join(bedDir, 'kagent-controller.sock'), { force: true });
  fs.rmSync(path.join(bedDir, 'kagent-database-url'), { force: true });
  const state = readState();
  if (opts.keepObjects || !state || !alive(state.holderPid)) return;
  const crds = crdNames();
  await $({
    env: bedProcessEnv(),
    quiet: true,
    nothrow: true,
    timeout: '120s',
  })`kubectl delete namespace ${kagentNamespace} --ignore-not-found --wait=true`;
  await $({
    env: bedProcessEnv(),
    quiet: true,
    nothrow: true,
    timeout: '120s',
  })`kubectl delete crd ${crds} --ignore-not-found --wait=true`;
}

/** cluster.ts up()'s hook: adds kagent when wanted (the flag, or TODO_OPS_BED_KAGENT=1); the model from TODO_OPS_BED_KAGENT_MODEL_URL. */
export async function kagentOnUp(log: (m: string) => void, flag?: boolean): Promise<Record<string, number>> {
  if (!kagentWanted(flag)) return {};
  const t0 = Date.now();
  const k = await kagentUp(log, { modelUrl: process.env.TODO_OPS_BED_KAGENT_MODEL_URL || undefined });
  log(
    `kagent ${kagentVersion} on the bed: controller ${k.controllerUrl} (TODO_KAGENT_URL) in ${((Date.now() - t0) / 1000).toFixed(1)}s`,
  );
  return { kagent: Number(((Date.now() - t0) / 1000).toFixed(1)) };
}
