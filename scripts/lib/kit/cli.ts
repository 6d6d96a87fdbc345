// The skeleton every script shares (see CONTRIBUTING.md): a spec declares the
// options, what the script touches and whether it locks the release; `main`
// parses flags like kubectl's, loads the config, takes the lock, runs the
// script and prints its Result as text or as one JSON envelope, mapping any
// error to a one-line message and the documented exit code.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, redacted, repoRoot, type Config } from './env.ts';
import { Exit, OpsError, exitCodeHelp, usageError, type ExitCode } from './errors.ts';
import { Output, addSecret, scrub, type Format } from './output.ts';
import { Result, deriveExitCode, type Action, type Envelope } from './result.ts';
import { carryFlags } from './hints.ts';
import { renderResult } from './render.ts';
import { duration, type Settings } from './settings.ts';
import type { Kube } from '../kube/client.ts';
import type { Helm } from '../release/helm.ts';
import type { State } from './state.ts';
import type { Notifier } from './notify.ts';
import { acquireLock } from './lock.ts';

type OptionType = 'string' | 'boolean' | 'int' | 'duration' | 'enum' | 'list';

export interface OptionSpec {
  type: OptionType;
  short?: string;
  help: string;
  /** the value's placeholder in --help */
  arg?: string;
  /** shown in --help; used when the flag is absent */
  default?: string | number | boolean | readonly string[];
  /** int: inclusive bounds; duration: the least seconds */
  min?: number;
  max?: number;
  /** enum, list: the allowed values */
  choices?: readonly string[];
}

/** What a script does to the cluster; decides which flags it offers. */
type Touches = 'nothing' | 'reads' | 'changes';

type ValueOf<O extends OptionSpec> = O['type'] extends 'boolean'
  ? boolean
  : O['type'] extends 'int' | 'duration'
    ? number
    : O['type'] extends 'list'
      ? O extends { choices: readonly (infer C)[] }
        ? C[]
        : string[]
      : O extends { choices: readonly (infer C)[] }
        ? C
        : string;
export type OptionValues<O extends Record<string, OptionSpec>> = {
  [K in keyof O]: O[K] extends { default: unknown }
    ? ValueOf<O[K]>
    : O[K]['type'] extends 'boolean' | 'list'
      ? ValueOf<O[K]>
      : ValueOf<O[K]> | undefined;
};

/**
 * A script that offers --ai "<request>": the AI layer (AiHook) runs once, with
 * the script's deterministic findings as context, and is recorded as its own
 * action that never decides the exit code.
 */
interface AiSpec<O extends Record<string, OptionSpec>, S extends Settings> {
  /** what the AI tool is given on stdin (default: the result's findings and actions, one per line) */
  context?(ctx: Context<O, S>): string | Promise<string>;
  /** run the AI step before the script's own run (default: after it, so its findings exist) */
  first?(ctx: Context<O, S>): boolean;
}

/**
 * The --ai step as the kit calls it. The suite's main (scripts/lib/main.ts)
 * supplies it, so the kit knows no AI tool and loads none until --ai is given.
 */
export interface AiHook {
  /** the result as the AI tool reads it, when the script gives no context of its own */
  resultText(result: Result): Promise<string>;
  /** runs the request once; records and returns its action; never throws for the tool's own failures */
  step(ctx: Context, findings: string): Promise<Action>;
  /** after the script's own text output, when the step was done */
  render(result: Result, out: Output, action: Action): Promise<void>;
}

/** What the suite plugs into the kit: settings every script shares beyond the kit's own, and the --ai step. */
export interface Wiring {
  settings: Settings;
  ai?: AiHook;
}

export interface ScriptSpec<
  O extends Record<string, OptionSpec> = Record<string, OptionSpec>,
  S extends Settings = Settings,
> {
  name: string;
  summary: string;
  /** extra lines after the summary in --help */
  description?: string;
  options?: O;
  /** e.g. "frontend|backend REPLICAS" */
  positionals?: string;
  /** nothing: no cluster flags; reads: --context/--namespace/--kubeconfig; changes: also --dry-run */
  touches: Touches;
  /** the script can take destructive actions: offers --yes (see plan.ts) */
  destructive?: boolean;
  /** hold a lock for the run: "release" excludes every release-changing script on the same release */
  lock?: 'release' | 'script';
  /** the script's own settings, TODO_<NAME>_* */
  settings?: S;
  examples?: string[];
  /** offers --ai (and --yes, which lets kubectl-ai change the cluster) */
  ai?: AiSpec<O, S>;
  /** usage checks of the positionals that need no cluster: run before the lock and any request, so bad input is exit 2 even with no cluster */
  check?(ctx: Context<O, S>): void | Promise<void>;
  run(ctx: Context<O, S>): Promise<ExitCode | void>;
  /** custom text output; the default prints findings and actions */
  render?(result: Result, ctx: Context<O, S>): void;
}

const common: Record<string, OptionSpec> = {
  profile: {
    type: 'string',
    short: 'p',
    arg: 'NAME',
    help: 'env profile: env/NAME.env (default $TODO_PROFILE or minikube)',
  },
  output: { type: 'enum', short: 'o', choices: ['text', 'json'], default: 'text', help: 'output format' },
  verbose: { type: 'boolean', short: 'v', help: 'print the commands and API calls made' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};
const clusterOpts: Record<string, OptionSpec> = {
  context: {
    type: 'string',
    arg: 'NAME',
    help: 'kube context (default $TODO_CONTEXT, else the kubeconfig current context)',
  },
  namespace: { type: 'string', short: 'n', arg: 'NS', help: 'namespace (default $TODO_NAMESPACE or todo)' },
  kubeconfig: { type: 'string', arg: 'FILE', help: 'kubeconfig file (default $KUBECONFIG or ~/.kube/config)' },
};
const dryRunOpt: Record<string, OptionSpec> = {
  'dry-run': { type: 'boolean', help: 'print the plan; change nothing' },
};
const yesOpt: Record<string, OptionSpec> = {
  yes: { type: 'boolean', short: 'y', help: 'do destructive actions without asking' },
};
const aiOpt: Record<string, OptionSpec> = {
  ai: {
    type: 'string',
    arg: 'REQUEST',
    help: "also ask kubectl-ai, in plain words (optional: see README; the result and exit code stay this script's own)",
  },
};
const aiYesOpt: Record<string, OptionSpec> = {
  yes: { type: 'boolean', short: 'y', help: "let --ai's kubectl-ai change the cluster (its --skip-permissions)" },
};

export class Context<O extends Record<string, OptionSpec> = Record<string, OptionSpec>, S extends Settings = Settings> {
  readonly spec: ScriptSpec<O, S>;
  readonly cfg: Config<S>;
  readonly out: Output;
  readonly opts: OptionValues<O>;
  readonly positionals: string[];
  readonly namespace: string;
  /** --context, else TODO_CONTEXT; empty means the kubeconfig's current context */
  readonly context: string;
  readonly kubeconfig?: string;
  readonly release: string;
  readonly dryRun: boolean;
  readonly yes: boolean;
  /** TODO_TIMEOUT, in seconds: the default for every wait */
  readonly timeoutSec: number;
  /** --ai's request, when the script offers --ai and it was given */
  readonly aiRequest?: string;
  /** the kit's own flags as the user gave them (absent when not given): what a child run or a printed hint repeats */
  readonly given: { profile?: string; context?: string; namespace?: string; kubeconfig?: string };
  readonly result = new Result();
  readonly startedAt = new Date();
  private kubeClient?: Kube;
  private helmClient?: Helm;
  private stateStore?: State;

  constructor(
    spec: ScriptSpec<O, S>,
    cfg: Config<S>,
    out: Output,
    flags: Record<string, unknown>,
    positionals: string[],
  ) {
    this.spec = spec;
    this.cfg = cfg;
    this.out = out;
    this.opts = flags as OptionValues<O>;
    this.positionals = positionals;
    this.namespace = (flags.namespace as string | undefined) ?? cfg.TODO_NAMESPACE;
    this.context = (flags.context as string | undefined) ?? cfg.TODO_CONTEXT;
    this.kubeconfig = flags.kubeconfig as string | undefined;
    this.release = cfg.TODO_RELEASE;
    this.dryRun = flags['dry-run'] === true;
    this.yes = flags.yes === true;
    this.timeoutSec = cfg.TODO_TIMEOUT;
    if (typeof flags.ai === 'string') this.aiRequest = flags.ai;
    const given = (k: string) => (typeof flags[k] === 'string' ? { [k]: flags[k] } : {});
    this.given = { ...given('profile'), ...given('context'), ...given('namespace'), ...given('kubeconfig') };
  }
  get json(): boolean {
    return this.out.format === 'json';
  }
  /**
   * The Kubernetes client for this run's context, made on first use. Loaded
   * lazily: the client library is most of a script's start-up time, and --help,
   * usage errors and local scripts never need it.
   */
  async kube(): Promise<Kube> {
    if (!this.kubeClient) {
      const { Kube } = await import('../kube/client.ts');
      this.kubeClient = new Kube({
        context: this.context || undefined,
        kubeconfig: this.kubeconfig,
        log: (m) => this.out.debug(m),
        fieldManager: `todo-chatbot-ops/${this.spec.name}`,
      });
    }
    return this.kubeClient;
  }
  /** helm bound to this run's kubeconfig, context and namespace. */
  async helm(): Promise<Helm> {
    if (!this.helmClient) {
      const [{ Helm }, { toolPath }] = await Promise.all([import('../release/helm.ts'), import('./tools.ts')]);
      this.helmClient = new Helm({
        bin: (await toolPath('helm')) ?? 'helm',
        context: this.context || undefined,
        kubeconfig: this.kubeconfig,
        namespace: this.namespace,
        log: (m) => this.out.debug(m),
      });
    }
    return this.helmClient;
  }
  /** History and samples for this run's context and namespace (TODO_STATE_DIR). */
  async state(): Promise<State> {
    if (!this.stateStore) {
      const { openState } = await import('./state.ts');
      const context = this.spec.touches === 'nothing' ? this.context || 'local' : (await this.kube()).contextName;
      this.stateStore = openState(this.cfg.TODO_STATE_DIR, { context, namespace: this.namespace });
    }
    return this.stateStore;
  }
  /** The webhook notifier (TODO_WEBHOOK_*), dedup kept in this run's state. */
  async notifier(): Promise<Notifier> {
    const { notifierFromConfig } = await import('./notify.ts');
    return notifierFromConfig(this.cfg, { state: await this.state(), log: (m) => this.out.debug(m) });
  }
}

function parseInt(raw: string, what: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(raw)) throw usageError(`${what} must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw usageError(`${what} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** Converts one raw flag value to its declared type; a bad value is a usage error naming the flag. */
function convert(name: string, o: OptionSpec, raw: unknown): unknown {
  const flag = `--${name}`;
  switch (o.type) {
    case 'boolean':
      return raw === true;
    case 'int':
      return parseInt(String(raw), flag, o.min ?? Number.MIN_SAFE_INTEGER, o.max ?? Number.MAX_SAFE_INTEGER);
    case 'duration': {
      let sec: number;
      try {
        sec = duration(String(raw), flag);
      } catch (e) {
        throw usageError((e as Error).message);
      }
      if (o.min !== undefined && sec < o.min)
        throw usageError(`${flag} must be at least ${o.min}s, got "${String(raw)}"`);
      return sec;
    }
    case 'enum':
      if (!o.choices!.includes(String(raw)))
        throw usageError(`${flag} must be one of ${o.choices!.join(', ')}, got "${String(raw)}"`);
      return raw;
    case 'list': {
      const items = (raw as string[])
        .flatMap((v) => v.split(','))
        .map((v) => v.trim())
        .filter(Boolean);
      const unknown = o.choices ? items.filter((v) => !o.choices!.includes(v)) : [];
      if (unknown.length)
        throw usageError(`${flag}: unknown ${unknown.join(', ')} (choose from ${o.choices!.join(', ')})`);
      return items;
    }
    default:
      return raw;
  }
}

function allOptions<O extends Record<string, OptionSpec>, S extends Settings>(
  spec: ScriptSpec<O, S>,
): Record<string, OptionSpec> {
  const t = spec.touches;
  return {
    ...(t === 'nothing' ? {} : clusterOpts),
    ...spec.options,
    ...(t === 'changes' ? dryRunOpt : {}),
    ...(spec.ai ? aiOpt : {}),
    ...(spec.destructive ? yesOpt : spec.ai ? aiYesOpt : {}),
    ...common,
  };
}

/**
 * Where the script's own arguments start in argv: after the entry file. Under
 * zx's CLI (npx zx, the shebang) argv is [node, zx/cli.js, zx flags..., script,
 * args...]; run by node or tsx directly it is [node, script, args...].
 */
export function scriptArgv(argv: readonly string[] = process.argv): { entry?: string; args: string[] } {
  if (argv[1] && /[\\/]zx[\\/]build[\\/]cli\.c?js$|[\\/]zx$/.test(argv[1])) {
    const i = argv.findIndex((a, idx) => idx >= 2 && !a.startsWith('-'));
    return i < 0 ? { args: [] } : { entry: argv[i], args: argv.slice(i + 1) };
  }
  return { entry: argv[1], args: argv.slice(2) };
}

/** scripts/doctor.ts or ops/self-heal.ts: how the user ran it, for usage lines. */
function entryPath<O extends Record<string, OptionSpec>, S extends Settings>(spec: ScriptSpec<O, S>): string {
  const argv1 = scriptArgv().entry;
  if (argv1 && /\.(ts|js)$/.test(argv1)) {
    const rel = path.relative(repoRoot, path.resolve(argv1));
    if (!rel.startsWith('..')) return rel;
  }
  return `scripts/${spec.name}.ts`;
}

export function helpText<O extends Record<string, OptionSpec>, S extends Settings>(spec: ScriptSpec<O, S>): string {
  const opts = allOptions(spec);
  const placeholder = (o: OptionSpec) =>
    o.arg ??
    (o.type === 'enum'
      ? o.choices!.join('|')
      : o.type === 'int'
        ? 'N'
        : o.type === 'duration'
          ? 'DURATION'
          : o.type === 'boolean'
            ? ''
            : 'VALUE');
  const flag = ([name, o]: [string, OptionSpec]) =>
    `${o.short ? `-${o.short}, ` : '    '}--${name}${placeholder(o) ? ` ${placeholder(o)}` : ''}`;
  const help = (o: OptionSpec) => {
    const extra: string[] = [];
    if (o.type === 'int' && (o.min !== undefined || o.max !== undefined)) extra.push(`${o.min ?? '…'}-${o.max ?? '…'}`);
    if (o.type === 'duration' && o.min !== undefined) extra.push(`at least ${o.min}s`);
    if (o.type === 'list') extra.push('comma-separated or repeated');
    if (o.default !== undefined && o.default !== false)
      extra.push(`default ${Array.isArray(o.default) ? o.default.join(',') : String(o.default)}`);
    return extra.length ? `${o.help} (${extra.join('; ')})` : o.help;
  };
  const width = Math.max(...Object.entries(opts).map((e) => flag(e).length));
  const lines = [
    `${spec.name}: ${spec.summary}`,
    '',
    `Usage: npx zx ${entryPath(spec)} [options]${spec.positionals ? ` ${spec.positionals}` : ''}`,
  ];
  if (spec.description) lines.push('', spec.description.trim());
  lines.push('', 'Options:', ...Object.entries(opts).map((e) => `  ${flag(e).padEnd(width)}  ${help(e[1])}`));
  const settings = Object.entries((spec.settings ?? {}) as Settings);
  if (settings.length) {
    const w = Math.max(...settings.map(([k]) => k.length));
    lines.push(
      '',
      'Settings (env files or environment):',
      ...settings.map(([k, s]) => `  ${k.padEnd(w)}  ${s.help} (default ${JSON.stringify(s.default)})`),
    );
  }
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  lines.push('', exitCodeHelp);
  return lines.join('\n');
}

export function parseFlags<O extends Record<string, OptionSpec>, S extends Settings>(
  spec: ScriptSpec<O, S>,
  argv: string[],
): { flags: Record<string, unknown>; positionals: string[] } {
  const opts = allOptions(spec);
  const parserOptions = Object.fromEntries(
    Object.entries(opts).map(([k, o]) => [
      k,
      {
        type: o.type === 'boolean' ? ('boolean' as const) : ('string' as const),
        multiple: o.type === 'list',
        ...(o.short ? { short: o.short } : {}),
      },
    ]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: parserOptions, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageError(
      (e as Error).message.split('. ')[0]!.replace(/^Unknown option/, 'unknown option'),
      `see: npx zx ${entryPath(spec)} --help`,
    );
  }
  const flags: Record<string, unknown> = {};
  const raw = parsed.values as Record<string, unknown>;
  if (raw.help) return { flags: { help: true }, positionals: [] };
  if (!spec.positionals && parsed.positionals.length)
    throw usageError(
      `unexpected argument "${parsed.positionals[0]}": ${spec.name} takes options only`,
      `see: npx zx ${entryPath(spec)} --help`,
    );
  for (const [k, o] of Object.entries(opts)) {
    if (raw[k] !== undefined) flags[k] = convert(k, o, raw[k]);
    // A default is written as the user would type it ('10m'): converted like a given value.
    else if (o.default !== undefined)
      flags[k] =
        o.type === 'list'
          ? [...(o.default as string[])]
          : o.type === 'duration' || o.type === 'int'
            ? convert(k, o, o.default)
            : o.default;
    else if (o.type === 'boolean') flags[k] = false;
    else if (o.type === 'list') flags[k] = [];
  }
  return { flags, positionals: parsed.positionals };
}

/**
 * Parses argv, runs the script, prints its result, exits with its code. Never
 * returns. Entries call the suite's `main` (scripts/lib/main.ts), which passes
 * the wiring.
 */
export async function runScript<O extends Record<string, OptionSpec>, S extends Settings = Settings>(
  spec: ScriptSpec<O, S>,
  wiring: Wiring,
  argv = scriptArgv().args,
): Promise<never> {
  const startedAt = new Date();
  // Until --output is parsed, errors are text; a bad --output is itself a text error.
  let out = new Output(
    argv.some((a, i) => (a === '-o' || a === '--output') && argv[i + 1] === 'json') || argv.includes('--output=json')
      ? 'json'
      : 'text',
  );
  let ctx: Context<O, S> | undefined;
  let cfg: Config<S> | undefined;
  let releaseLock: (() => void) | undefined;
  const envelope = (exitCode: ExitCode, error?: OpsError): Envelope => {
    const r = ctx?.result ?? new Result();
    return {
      script: spec.name,
      ok: exitCode === Exit.ok,
      exitCode,
      profile: cfg?.profile ?? null,
      context: ctx?.context || null,
      namespace: ctx?.namespace ?? null,
      release: ctx?.release ?? null,
      dryRun: ctx?.dryRun ?? false,
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      findings: r.findings,
      actions: r.actions,
      data: r.data,
      ...(error ? { error: { message: error.message, ...(error.hint ? { hint: error.hint } : {}) } } : {}),
    };
  };
  try {
    const { flags, positionals } = parseFlags(spec, argv);
    if (flags.help) {
      process.stdout.write(helpText(spec) + '\n');
      return exit(Exit.ok);
    }
    out = new Output(flags.output as Format, flags.verbose === true);
    const aiRequest = spec.ai && typeof flags.ai === 'string' ? flags.ai : undefined;
    if (aiRequest !== undefined && !aiRequest.trim())
      throw usageError('--ai needs a request in plain words, e.g. --ai "why are the pods failing"');
    cfg = loadConfig({
      profile: flags.profile as string | undefined,
      settings: { ...wiring.settings, ...spec.settings },
    }) as Config<S>;
    for (const k of cfg.secretKeys) addSecret(cfg[k] as string);
    ctx = new Context(spec, cfg, out, flags, positionals);
    // After the flags: what is printed is what the run uses.
    out.debug(
      `config: ${JSON.stringify({ ...redacted(cfg), TODO_NAMESPACE: ctx.namespace, TODO_CONTEXT: ctx.context })}`,
    );
    await spec.check?.(ctx);
    if (spec.lock) {
      const kube = await ctx.kube();
      releaseLock = await acquireLock(
        cfg.TODO_STATE_DIR,
        {
          context: kube.contextName,
          namespace: ctx.namespace,
          release: ctx.release,
          ...(spec.lock === 'script' ? { scope: spec.name } : {}),
        },
        spec.name,
      );
    }
    let aiAction: Action | undefined;
    const ai = aiRequest !== undefined ? wiring.ai : undefined;
    const aiStep = async (c: Context<O, S>) => {
      aiAction = await ai!.step(c, await (spec.ai!.context?.(c) ?? ai!.resultText(c.result)));
      if (aiAction.status !== 'done')
        out.warn(`--ai: ${aiAction.detail} (the ${spec.name} result does not depend on it)`);
    };
    const aiFirst = ai !== undefined && spec.ai!.first?.(ctx) === true;
    if (aiFirst) await aiStep(ctx);
    const returned = await spec.run(ctx);
    if (ai !== undefined && !aiFirst) await aiStep(ctx);
    // The AI step is reported, never decisive: the deterministic path decides the exit code.
    const code =
      returned ??
      deriveExitCode({
        findings: ctx.result.findings,
        exitCode: ctx.result.exitCode,
        actions: ctx.result.actions.filter((a) => a !== aiAction),
      });
    for (const f of ctx.result.findings) if (f.hint) f.hint = carryFlags(f.hint, ctx.given);
    if (out.format === 'json') out.json(envelope(code));
    else {
      (spec.render ?? ((r: Result, c: Context<O, S>) => renderResult(r, c.out, c.dryRun)))(ctx.result, ctx);
      if (aiAction?.status === 'done') await ai!.render(ctx.result, out, aiAction);
    }
    releaseLock?.();
    return exit(code);
  } catch (e) {
    releaseLock?.();
    const caught = e instanceof OpsError ? e : new OpsError(errorMessage(e), Exit.actionFailed);
    const err =
      caught.hint && ctx ? new OpsError(caught.message, caught.code, carryFlags(caught.hint, ctx.given)) : caught;
    if (out.format === 'json') out.json(envelope(err.code, err));
    process.stderr.write(scrub(`${spec.name}: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`));
    if (out.verbose && !(e instanceof OpsError) && e instanceof Error) process.stderr.write(scrub(`${e.stack}\n`));
    return exit(err.code);
  }
}

/**
 * Exits once stdout and stderr are flushed: on a pipe, writes are asynchronous
 * and process.exit would cut a large JSON document short.
 */
async function exit(code: ExitCode): Promise<never> {
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((r) => s.write('', () => r()))));
  process.exit(code);
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0]!;
  return String(e);
}
