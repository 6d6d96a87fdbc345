// The external CLIs the suite drives. Each is detected with its version and an
// install hint; each call goes through zx, which quotes every argument, so no
// value is ever re-parsed by a shell. Secrets are never passed as arguments.
import fs from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import { which } from 'zx';
import { shell } from './shell.ts';
import { Exit, OpsError } from './errors.ts';

export interface ToolSpec {
  bin: string;
  versionArgs: string[];
  /** the semver-ish version in the output of versionArgs */
  pattern: RegExp;
  min?: string;
  install: string;
}

export const toolSpecs = {
  kubectl: {
    bin: 'kubectl',
    versionArgs: ['version', '--client', '-o', 'json'],
    pattern: /"gitVersion":\s*"v?(\d+\.\d+\.\d+)/,
    min: '1.28.0',
    install: 'https://kubernetes.io/docs/tasks/tools/ (or: minikube kubectl --)',
  },
  helm: {
    bin: 'helm',
    versionArgs: ['version', '--short'],
    pattern: /v?(\d+\.\d+\.\d+)/,
    min: '3.12.0',
    install: 'https://helm.sh/docs/intro/install/',
  },
  minikube: {
    bin: 'minikube',
    versionArgs: ['version', '--short'],
    pattern: /v?(\d+\.\d+\.\d+)/,
    min: '1.30.0',
    install: 'https://minikube.sigs.k8s.io/docs/start/',
  },
  docker: {
    bin: 'docker',
    versionArgs: ['version', '--format', '{{.Client.Version}}'],
    pattern: /(\d+\.\d+\.\d+)/,
    install: 'https://docs.docker.com/get-docker/',
  },
  buildah: {
    bin: 'buildah',
    versionArgs: ['--version'],
    pattern: /(\d+\.\d+\.\d+)/,
    install: 'apt-get install buildah',
  },
  'kubectl-ai': {
    bin: 'kubectl-ai',
    versionArgs: ['version'],
    pattern: /(\d+\.\d+\.\d+)/,
    install: 'kubectl krew install ai (optional)',
  },
  kagent: {
    bin: 'kagent',
    versionArgs: ['version'],
    pattern: /(\d+\.\d+\.\d+)/,
    install: 'https://kagent.dev/docs (optional)',
  },
} satisfies Record<string, ToolSpec>;
export type ToolName = keyof typeof toolSpecs;

export interface ToolInfo {
  name: ToolName;
  path?: string;
  version?: string;
  /** present and at least the minimum version */
  ok: boolean;
  problem?: string;
  hint: string;
}

/** -1, 0, 1 like a comparator, on dotted numeric versions. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}

/**
 * Where the suite keeps the tools it builds (the local cluster's kubectl and
 * helm among them): TODO_OPS_TOOLS_DIR, else ~/.cache/todo-chatbot-ops/tools.
 */
export const toolsCacheDir = () =>
  process.env.TODO_OPS_TOOLS_DIR ?? nodePath.join(os.homedir(), '.cache', 'todo-chatbot-ops', 'tools');
export const toolsCacheBin = () => nodePath.join(toolsCacheDir(), 'bin');

/**
 * A tool's path: on PATH first, else the one the suite built into its cache, so
 * that a machine set up by `bootstrap --target local` needs no PATH change.
 */
export async function toolPath(bin: string): Promise<string | undefined> {
  const onPath = await which(bin, { nothrow: true });
  if (onPath) return onPath;
  const cached = nodePath.join(toolsCacheBin(), bin);
  try {
    fs.accessSync(cached, fs.constants.X_OK);
    return cached;
  } catch {
    return undefined;
  }
}

export async function detect(name: ToolName): Promise<ToolInfo> {
  const spec: ToolSpec = toolSpecs[name];
  const path = await toolPath(spec.bin);
  if (!path) return { name, ok: false, problem: 'not found on PATH', hint: spec.install };
  const res = await shell({ timeout: '15s' })`${path} ${spec.versionArgs}`;
  const version = spec.pattern.exec(res.stdout + res.stderr)?.[1];
  if (!version)
    return { name, path, ok: false, problem: `could not read its version (exit ${res.exitCode})`, hint: spec.install };
  if (spec.min && compareVersions(version, spec.min) < 0)
    return {
      name,
      path,
      version,
      ok: false,
      problem: `version ${version} is older than ${spec.min}`,
      hint: spec.install,
    };
  return { name, path, version, ok: true, hint: spec.install };
}

/** Fails with exit 2 and the install hint when a required tool is missing. */
export async function requireTool(name: ToolName): Promise<ToolInfo> {
  const info = await detect(name);
  if (!info.ok) throw new OpsError(`${name}: ${info.problem}`, Exit.usage, `install: ${info.hint}`);
  return info;
}
