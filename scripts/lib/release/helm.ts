// helm, typed and bound to the run's kubeconfig, context and namespace. Every
// call goes through shell.run (logged under --verbose, secrets never on the
// command line: values travel in files), an unreachable cluster maps to exit 3
// and any other failure to exit 4 with helm's own reason.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { ProcessOutput } from 'zx';
import { Exit, OpsError, type ExitCode } from '../kit/errors.ts';
import { scrub } from '../kit/output.ts';
import { run } from '../kit/shell.ts';

export interface HelmOptions {
  context?: string;
  kubeconfig?: string;
  namespace: string;
  /** the helm binary (default: helm on PATH) */
  bin?: string;
  env?: NodeJS.ProcessEnv;
  log?: (msg: string) => void;
}

export interface ReleaseStatus {
  name: string;
  namespace: string;
  version: number;
  info: { status: string; description?: string; first_deployed?: string; last_deployed?: string; notes?: string };
  chart?: { metadata?: { name: string; version: string; appVersion?: string } };
}

export interface HistoryEntry {
  revision: number;
  updated: string;
  status: string;
  chart: string;
  app_version: string;
  description: string;
}

export interface UpgradeOptions {
  release: string;
  chart: string;
  /** values files in order; later wins. Secrets go here (or in a Secret), never in `set`. */
  valuesFiles?: string[];
  /** values written to a private temporary file after valuesFiles */
  values?: object;
  wait?: boolean;
  timeoutSec?: number;
  /** roll back by itself on failure (helm --atomic) */
  atomic?: boolean;
  /** render and validate against the API server without changing anything */
  dryRun?: boolean;
  createNamespace?: boolean;
}

const unreachable =
  /Kubernetes cluster unreachable|connection refused|no such host|i\/o timeout|dial tcp|the server could not find the requested resource \(get namespaces|TLS handshake timeout|context deadline exceeded.*dial/i;

/** exit 3 for a cluster helm could not reach, else 4. */
export function classifyHelmFailure(res: Pick<ProcessOutput, 'stderr'>): ExitCode {
  return unreachable.test(res.stderr) ? Exit.unreachable : Exit.actionFailed;
}

/**
 * helm's own reason for a failure, from its stderr: the last "Error:" line and
 * the lines after it (a schema error lists the offending values there), without
 * the "Use --debug flag to render out invalid YAML" advice that follows it.
 */
export function helmReason(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^Use --debug flag/i.test(l) && !/^WARNING: /.test(l));
  const start = lines.map((l) => /^Error:/.test(l)).lastIndexOf(true);
  const picked = start >= 0 ? lines.slice(start) : lines.slice(-1);
  return picked
    .join(' ')
    .replace(/^Error:\s*/, '')
    .replace(/^(INSTALLATION|UPGRADE) FAILED:\s*/, '')
    .replace(/^execution error at \([^)]*\):\s*/, '');
}

/**
 * Runs helm through shell.run with its failure message carrying helm's own
 * reason (helmReason), not its last line, which is often only advice.
 */
export async function runHelm(
  bin: string,
  args: string[],
  o: Parameters<typeof run>[2] & { what: string },
): Promise<ProcessOutput> {
  let stderr = '';
  try {
    return await run(bin, args, {
      ...o,
      classify: (res) => ((stderr = res.stderr), (o.classify ?? classifyHelmFailure)(res)),
    });
  } catch (e) {
    if (!(e instanceof OpsError) || !stderr) throw e;
    const head = /^(.*? failed \((?:exit \d+|killed[^)]*)\)): /.exec(e.message)?.[1] ?? `${o.what} failed`;
    throw new OpsError(scrub(`${head}: ${helmReason(stderr)}`), e.code, e.hint);
  }
}

export class Helm {
  readonly opts: HelmOptions;
  private tmpDir?: string;

  constructor(opts: HelmOptions) {
    this.opts = opts;
  }

  /** The flags that bind every call to the run's cluster and namespace. */
  get scope(): string[] {
    const o = this.opts;
    return [
      '--namespace',
      o.namespace,
      ...(o.kubeconfig ? ['--kubeconfig', o.kubeconfig] : []),
      ...(o.context ? ['--kube-context', o.context] : []),
    ];
  }

  async run(args: string[], timeoutSec = 600): Promise<ProcessOutput> {
    return runHelm(this.opts.bin ?? 'helm', [...args, ...this.scope], {
      env: this.opts.env,
      log: this.opts.log,
      timeout: `${timeoutSec + 30}s`,
      what: `helm ${args[0]}`,
    });
  }

  /** helm upgrade --install; returns the release's status afterwards. */
  async upgradeInstall(o: UpgradeOptions): Promise<ReleaseStatus> {
    const timeoutSec = o.timeoutSec ?? 300;
    const args = [
      'upgrade',
      '--install',
      o.release,
      o.chart,
      ...this.valuesArgs(o.valuesFiles, o.values),
      '--output',
      'json',
    ];
    if (o.wait) args.push('--wait', '--timeout', `${timeoutSec}s`);
    if (o.atomic) args.push('--atomic');
    if (o.dryRun) args.push('--dry-run=server');
    if (o.createNamespace) args.push('--create-namespace');
    try {
      return JSON.parse((await this.run(args, timeoutSec)).stdout) as ReleaseStatus;
    } finally {
      this.cleanup();
    }
  }

  /** The release's status, or undefined when it is not installed. */
  async status(release: string): Promise<ReleaseStatus | undefined> {
    const res = await this.maybe(['status', release, '--output', 'json']);
    return res && (JSON.parse(res.stdout) as ReleaseStatus);
  }

  /** Revisions, oldest first (helm's order); empty when not installed. */
  async history(release: string, max = 256): Promise<HistoryEntry[]> {
    const res = await this.maybe(['history', release, '--max', String(max), '--output', 'json']);
    return res ? (JSON.parse(res.stdout) as HistoryEntry[]) : [];
  }

  async rollback(release: string, revision?: number, o: { wait?: boolean; timeoutSec?: number } = {}): Promise<void> {
    const args = ['rollback', release, ...(revision ? [String(revision)] : [])];
    if (o.wait) args.push('--wait', '--timeout', `${o.timeoutSec ?? 300}s`);
    await this.run(args, o.timeoutSec);
  }

  /** The user-supplied values of a revision (all: merged with the chart's defaults). */
  async getValues(release: string, o: { all?: boolean; revision?: number } = {}): Promise<Record<string, unknown>> {
    const args = [
      'get',
      'values',
      release,
      '--output',
      'json',
      ...(o.all ? ['--all'] : []),
      ...(o.revision ? ['--revision', String(o.revision)] : []),
    ];
    return (JSON.parse((await this.run(args)).stdout) ?? {}) as Record<string, unknown>;
  }

  async getManifest(release: string, revision?: number): Promise<string> {
    return (await this.run(['get', 'manifest', release, ...(revision ? ['--revision', String(revision)] : [])])).stdout;
  }

  async uninstall(
    release: string,
    o: { wait?: boolean; timeoutSec?: number; keepHistory?: boolean } = {},
  ): Promise<void> {
    const args = [
      'uninstall',
      release,
      ...(o.wait ? ['--wait', '--timeout', `${o.timeoutSec ?? 300}s`] : []),
      ...(o.keepHistory ? ['--keep-history'] : []),
    ];
    await this.run(args, o.timeoutSec);
  }

  /** Renders locally (no cluster), e.g. to compare with the deployed manifest. */
  async template(o: {
    release: string;
    chart: string;
    valuesFiles?: string[];
    values?: object;
    kubeVersion?: string;
    extra?: string[];
  }): Promise<string> {
    const args = [
      'template',
      o.release,
      o.chart,
      '--namespace',
      this.opts.namespace,
      ...this.valuesArgs(o.valuesFiles, o.values),
    ];
    if (o.kubeVersion) args.push('--kube-version', o.kubeVersion);
    try {
      // Not this.run: template must not take --kube-context (it talks to no cluster).
      return (
        await runHelm(this.opts.bin ?? 'helm', [...args, ...(o.extra ?? [])], {
          env: this.opts.env,
          log: this.opts.log,
          what: 'helm template',
          timeout: '120s',
        })
      ).stdout;
    } finally {
      this.cleanup();
    }
  }

  /** A command that helm answers "release: not found" for is undefined, not an error. */
  private async maybe(args: string[]): Promise<ProcessOutput | undefined> {
    try {
      return await this.run(args);
    } catch (e) {
      if (
        /release: not found|not found/.test((e as Error).message) &&
        (e as { code?: number }).code === Exit.actionFailed
      )
        return undefined;
      throw e;
    }
  }

  private valuesArgs(files: string[] = [], values?: object): string[] {
    const args = files.flatMap((f) => ['--values', f]);
    if (values) {
      // 0700 directory, 0600 file: the values may hold secrets.
      this.tmpDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-helm-'));
      const file = path.join(this.tmpDir, `values-${process.pid}-${Date.now()}.yaml`);
      fs.writeFileSync(file, YAML.stringify(values), { mode: 0o600 });
      args.push('--values', file);
    }
    return args;
  }

  private cleanup(): void {
    if (this.tmpDir) fs.rmSync(this.tmpDir, { recursive: true, force: true });
    this.tmpDir = undefined;
  }
}
