// The machine's own prerequisites, one list for everyone who needs them:
// bootstrap's local target (its doctor step), the tests' set-up step (the
// first step of `npm test`, which .ci/run calls), and the local cluster's last
// resort when a command is missing anyway (local-cluster/node.ts). Each entry
// is what is checked (a command on PATH, or files), the minimum version where
// one matters, the Debian package that provides it and who needs it. Adding a
// tool the bed or the tests start means adding it here, nowhere else.
import fs from 'node:fs';
import { parse } from 'dotenv';

export type Use = 'local' | 'tests';
export const uses: readonly Use[] = ['local', 'tests'];

export interface Prereq {
  /** what a finding calls it: the command, or a short name for files */
  name: string;
  /** a command found on PATH (or at one of alsoAt) */
  command?: string;
  /** where the command is installed without being on PATH (Go's tarball) */
  alsoAt?: string[];
  /** files that must all exist; a `*` matches one path segment */
  files?: string[];
  /** run on the found command: its output gives the version, a failure means it is unusable */
  version?: { args: string[]; pattern: RegExp; env?: Record<string, string> };
  /** a command line that must succeed (a module the command needs) */
  probe?: string[];
  min?: string;
  /** a version from here up to min still works (Go fetches the pinned toolchain itself) */
  usableFrom?: string;
  /** what happens with such a version */
  usableNote?: string;
  /** the Debian package that provides it */
  package: string;
  /** apt's package is new enough only from these releases on (VERSION_ID); elsewhere `manual` */
  aptFrom?: Partial<Record<'debian' | 'ubuntu', number>>;
  /** what to do where apt cannot provide it */
  manual?: string;
  for: readonly Use[];
  /** who uses it, for --list and the README */
  why: string;
}

const versionsFile = new URL('../local-cluster/versions.env', import.meta.url);
const versions = parse(fs.readFileSync(versionsFile));
/** The Go the pinned modules need (their go directives), and the toolchain fetched when the local Go is older. */
export const goMin = versions.GO_MIN ?? '1.26.0';
export const goToolchain = versions.GO_TOOLCHAIN ?? `go${goMin}`;
const goArch = process.arch === 'arm64' ? 'arm64' : 'amd64';

const both: readonly Use[] = ['local', 'tests'];
/** Prints the version, then fails when venv cannot make a venv (Debian's python3-venv ships ensurepip). */
const pythonCheck = [
  'python3',
  '-c',
  "import sys; print('Python %d.%d.%d' % sys.version_info[:3]); import ensurepip, venv",
];
const tests: readonly Use[] = ['tests'];

export const prerequisites: readonly Prereq[] = [
  {
    name: 'go',
    command: 'go',
    alsoAt: ['/usr/local/go/bin/go'],
    version: { args: ['version'], pattern: /\bgo(\d+\.\d+(?:\.\d+)?)/, env: { GOTOOLCHAIN: 'local' } },
    min: goMin,
    // GOTOOLCHAIN exists since Go 1.21: an older Go cannot fetch the pinned one.
    usableFrom: '1.21.0',
    usableNote: `older than ${goMin}: the build sets GOTOOLCHAIN=${goToolchain}, which the go command fetches from the Go module proxy once`,
    package: 'golang-go',
    // Debian 12's golang-go is Go 1.19, Ubuntu 22.04's 1.18: too old to fetch a toolchain.
    aptFrom: { debian: 13, ubuntu: 24.04 },
    manual: `curl -fsSL https://go.dev/dl/${goToolchain}.linux-${goArch}.tar.gz | tar -C /usr/local -xz   # then /usr/local/go/bin/go is found`,
    for: both,
    why: "builds the local cluster's binaries once (scripts/lib/local-cluster/build-tools.sh, cached)",
  },
  { name: 'gcc', command: 'gcc', package: 'gcc', for: both, why: 'compiles the static pause binary' },
  {
    name: 'libc.a',
    files: ['/usr/lib/*/libc.a'],
    package: 'libc6-dev',
    for: both,
    why: 'links the pause binary statically',
  },
  { name: 'strip', command: 'strip', package: 'binutils', for: both, why: 'strips the pause binary' },
  {
    name: 'containerd',
    command: 'containerd',
    package: 'containerd',
    for: both,
    why: "the real node's container runtime",
  },
  {
    name: 'ctr',
    command: 'ctr',
    package: 'containerd',
    for: both,
    why: "imports the images into the node's containerd",
  },
  {
    name: 'containerd-shim-runc-v2',
    command: 'containerd-shim-runc-v2',
    package: 'containerd',
    for: both,
    why: "containerd's runc shim",
  },
  { name: 'runc', command: 'runc', package: 'runc', for: both, why: 'runs the containers' },
  {
    name: 'CNI plugins',
    files: ['/usr/lib/cni/bridge', '/usr/lib/cni/host-local', '/usr/lib/cni/portmap', '/usr/lib/cni/loopback'],
    package: 'containernetworking-plugins',
    for: both,
    why: "the pods' network on the real node",
  },
  { name: 'iptables', command: 'iptables', package: 'iptables', for: both, why: "kube-proxy's Service rules" },
  { name: 'ip', command: 'ip', package: 'iproute2', for: both, why: "the bed's network namespace" },
  {
    name: 'nsenter',
    command: 'nsenter',
    package: 'util-linux',
    for: both,
    why: "starts the bed's processes inside it",
  },
  { name: 'unshare', command: 'unshare', package: 'util-linux', for: both, why: "creates the bed's namespaces" },
  { name: 'sysctl', command: 'sysctl', package: 'procps', for: both, why: 'IP forwarding inside the bed' },
  { name: 'curl', command: 'curl', package: 'curl', for: both, why: "CoreDNS's readiness check inside the bed" },
  {
    name: 'CA certificates',
    files: ['/etc/ssl/certs/ca-certificates.crt'],
    package: 'ca-certificates',
    for: both,
    why: 'HTTPS to the Go module proxy and the Debian mirror',
  },
  { name: 'buildah', command: 'buildah', package: 'buildah', for: both, why: 'builds the images (no Docker engine)' },
  {
    name: 'debootstrap',
    command: 'debootstrap',
    package: 'debootstrap',
    for: both,
    why: "makes the images' stand-in base images",
  },
  {
    name: 'chromium',
    command: 'chromium',
    package: 'chromium',
    for: tests,
    why: "predict's HTML report and the frontend's end-to-end tests",
  },
  { name: 'crontab', command: 'crontab', package: 'cron', for: tests, why: 'the cron tests edit the real crontab' },
  {
    name: 'python3',
    command: 'python3',
    // The same command line as the venv probe below: one Python start answers both.
    version: { args: pythonCheck.slice(1), pattern: /Python (\d+\.\d+\.\d+)/ },
    min: '3.11.0',
    package: 'python3',
    for: tests,
    why: "the backend's tests (a venv of their own)",
  },
  {
    name: 'python3 venv',
    probe: pythonCheck,
    package: 'python3-venv',
    for: tests,
    why: "creates the backend's test venv",
  },
];

export function prereqsFor(use: Use): Prereq[] {
  return prerequisites.filter((p) => p.for.includes(use));
}
