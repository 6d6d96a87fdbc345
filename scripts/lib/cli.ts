// The conventions every script shares: flags like kubectl's, --help, --dry-run,
// --output json, config loading, locking, and one place that turns errors into
// a one-line message and the documented exit code.
import { parseArgs } from 'node:util';
import { loadConfig, redacted, secretKeys, type Config } from './config.ts';
import { Exit, OpsError, exitCodeHelp, usageError, type ExitCode } from './errors.ts';
import { Output, addSecret, scrub, type Format } from './output.ts';
import type { Kube } from './kube.ts';
import { acquireLock } from './lock.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  help: string;
  /** shown in --help as the value's placeholder */
  arg?: string;
}

export interface ScriptSpec {
  name: string;
  summary: string;
  /** extra lines after the summary in --help */
  description?: string;
  options?: Record<string, OptionSpec>;
  /** e.g. "[frontend|backend] REPLICAS" */
  positionals?: string;
  /** the script changes the cluster: adds --dry-run and --yes */
  mutates?: boolean;
  /** hold a per-script lock for the whole run (cron safety) */
  lock?: boolean;
  /** the script never talks to the cluster (skips --context/--namespace) */
  local?: boolean;
  examples?: string[];
  run(ctx: Context): Promise<ExitCode | void>;
}

const common: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', help: 'show this help' },
  profile: { type: 'string', short: 'p', arg: 'NAME', help: 'env profile: env/NAME.env (default $TODO_PROFILE or minikube)' },
  output: { type: 'string', short: 'o', arg: 'text|json', help: 'output format (default text)' },
  verbose: { type: 'boolean', short: 'v', help: 'print the commands and API calls made' },
};
const clusterOpts: Record<string, OptionSpec> = {
  context: { type: 'string', arg: 'NAME', help: 'kube context (default: the kubeconfig current context)' },
  namespace: { type: 'string', short: 'n', arg: 'NS', help: 'namespace (default $TODO_NAMESPACE or todo)' },
  kubeconfig: { type: 'string', arg: 'FILE', help: 'kubeconfig file (default $KUBECONFIG or ~/.kube/config)' },
};
const mutateOpts: Record<string, OptionSpec> = {
  'dry-run': { type: 'boolean', help: 'show what would change; change nothing' },
  yes: { type: 'boolean', short: 'y', help: 'do destructive actions without asking' },
};

export class Context {
  readonly spec: ScriptSpec;
  readonly cfg: Config;
  readonly out: Output;
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
  readonly namespace: string;
  readonly context: string;
  readonly dryRun: boolean;
  readonly yes: boolean;
  private kubeClient?: Kube;

  constructor(spec: ScriptSpec, cfg: Config, out: Output, values: Context['values'], positionals: string[]) {
    this.spec = spec;
    this.cfg = cfg;
    this.out = out;
    this.values = values;
    this.positionals = positionals;
    this.namespace = (values.namespace as string | undefined) ?? cfg.TODO_NAMESPACE;
    this.context = (values.context as string | undefined) ?? cfg.TODO_CONTEXT;
    this.dryRun = values['dry-run'] === true;
    this.yes = values.yes === true;
  }
  get json(): boolean {
    return this.out.format === 'json';
  }
  /**
   * The Kubernetes client for --context/--kubeconfig, made on first use. Loaded
   * lazily: the client library is most of a script's start-up time, and --help,
   * usage errors and local scripts never need it.
   */
  async kube(): Promise<Kube> {
    if (!this.kubeClient) {
      const { Kube } = await import('./kube.ts');
      this.kubeClient = new Kube({ context: this.context, kubeconfig: this.values.kubeconfig as string | undefined, log: (m) => this.out.debug(m) });
    }
    return this.kubeClient;
  }
  str(name: string): string | undefined {
    const v = this.values[name];
    return typeof v === 'string' ? v : undefined;
  }
  flag(name: string): boolean {
    return this.values[name] === true;
  }
  /** An integer flag or positional in [min, max]; anything else is a usage error. */
  int(raw: string | undefined, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
    if (raw === undefined) return undefined;
    if (!/^-?\d+$/.test(raw)) throw usageError(`${what} must be a whole number, got "${raw}"`);
    const n = Number(raw);
    if (n < min || n > max) throw usageError(`${what} must be between ${min} and ${max}, got ${n}`);
    return n;
  }
}

export function helpText(spec: ScriptSpec): string {
  const opts = allOptions(spec);
  const flag = ([name, o]: [string, OptionSpec]) => `${o.short ? `-${o.short}, ` : '    '}--${name}${o.arg ? ` ${o.arg}` : ''}`;
  const width = Math.max(...Object.entries(opts).map((e) => flag(e).length));
  const lines = [
    `${spec.name}: ${spec.summary}`,
    '',
    `Usage: npx zx scripts/${spec.name}.ts [options]${spec.positionals ? ` ${spec.positionals}` : ''}`,
  ];
  if (spec.description) lines.push('', spec.description.trim());
  lines.push('', 'Options:', ...Object.entries(opts).map((e) => `  ${flag(e).padEnd(width)}  ${e[1].help}`));
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  lines.push('', exitCodeHelp);
  return lines.join('\n');
}

function allOptions(spec: ScriptSpec): Record<string, OptionSpec> {
  return { ...(spec.local ? {} : clusterOpts), ...spec.options, ...(spec.mutates ? mutateOpts : {}), ...common };
}

/** Parses argv, runs the script, exits with its code. Never returns. */
export async function main(spec: ScriptSpec, argv = process.argv.slice(2)): Promise<never> {
  let out = new Output('text');
  try {
    const options = Object.fromEntries(
      Object.entries(allOptions(spec)).map(([k, o]) => [k, { type: o.type, multiple: o.multiple === true, ...(o.short ? { short: o.short } : {}) }]),
    );
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    } catch (e) {
      throw usageError((e as Error).message.split('. ')[0]!.replace(/^Unknown option/, 'unknown option'), `see: npx zx scripts/${spec.name}.ts --help`);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      process.stdout.write(helpText(spec) + '\n');
      process.exit(Exit.ok);
    }
    const format = (values.output as string | undefined) ?? 'text';
    if (format !== 'text' && format !== 'json') throw usageError(`--output must be text or json, got "${format}"`);
    out = new Output(format as Format, values.verbose === true);
    const cfg = loadConfig((values.profile as string | undefined) ?? process.env.TODO_PROFILE ?? 'minikube');
    for (const k of secretKeys) addSecret(cfg[k] as string);
    const ctx = new Context(spec, cfg, out, values as Context['values'], positionals);
    out.debug(`config: ${JSON.stringify(redacted(cfg))}`);
    const release = spec.lock ? await acquireLock(cfg.TODO_STATE_DIR, spec.name) : undefined;
    let code: ExitCode;
    try {
      code = (await spec.run(ctx)) ?? Exit.ok;
    } finally {
      release?.();
    }
    process.exit(code);
  } catch (e) {
    const err = e instanceof OpsError ? e : new OpsError(errorMessage(e), Exit.actionFailed);
    if (out.format === 'json') out.json({ ok: false, error: err.message, hint: err.hint, exitCode: err.code });
    process.stderr.write(scrub(`${spec.name}: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`));
    if (out.verbose && !(e instanceof OpsError) && e instanceof Error) process.stderr.write(scrub(`${e.stack}\n`));
    process.exit(err.code);
  }
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0]!;
  return String(e);
}
