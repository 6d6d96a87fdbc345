// The kubectl-ai layer's decisions, kept pure so they are unit-tested on plain
// data: whether the layer is usable, the exact command line and environment,
// and how a finished run is judged. kubectl-ai exits 0 even when the commands
// it ran failed, so the judgement reads its trace, not only its exit code.
import { parseAllDocuments } from 'yaml';
import { providerValues, type AiConfig } from './status.ts';

/** Variables passed through untouched: what a CLI needs to find its tools, home and locale. */
const baseKeys = [
  'PATH',
  'HOME',
  'USER',
  'LANG',
  'LC_ALL',
  'XDG_CONFIG_HOME',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTPS_PROXY',
  'HTTP_PROXY',
  'NO_PROXY',
  'https_proxy',
  'http_proxy',
  'no_proxy',
];

/**
 * kubectl-ai's environment, built from nothing: the base variables, the
 * provider's, the scoped kubeconfig and a private TMPDIR (its log file and work
 * directory go there). The app's secrets (BETTER_AUTH_SECRET, DATABASE_URL...)
 * never reach it, nor the commands it runs. The key travels here, never in argv.
 */
export function kubectlAiEnv(
  cfg: AiConfig,
  env: NodeJS.ProcessEnv,
  o: { kubeconfig: string; tmpdir: string },
): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const k of baseKeys) if (env[k]) out[k] = env[k];
  Object.assign(out, providerValues(cfg, env));
  out.KUBECONFIG = o.kubeconfig;
  out.TMPDIR = o.tmpdir;
  return out;
}

export interface InvokeOptions {
  request: string;
  kubeconfig: string;
  tracePath: string;
  /** the user passed --yes: kubectl-ai may change the cluster */
  yes: boolean;
}

/** The scope sentence added to the request: kubectl-ai has no --context/--namespace flags. */
export function scopedRequest(request: string, scope: { namespace: string; release: string; script: string }): string {
  return `${request.trim()}\n\nWork only in the Kubernetes namespace "${scope.namespace}" (the current context's namespace; never pass -n/--namespace or --all-namespaces), on the Helm release "${scope.release}". The ${scope.script} script's own findings follow.`;
}

/** kubectl-ai's arguments (its real flags, 0.0.28); the request is the one positional. */
export function kubectlAiArgs(cfg: AiConfig, o: InvokeOptions): string[] {
  return [
    '--quiet',
    '--llm-provider',
    cfg.TODO_AI_PROVIDER,
    ...(cfg.TODO_AI_MODEL ? ['--model', cfg.TODO_AI_MODEL] : []),
    '--kubeconfig',
    o.kubeconfig,
    '--max-iterations',
    String(cfg.TODO_AI_MAX_ITERATIONS),
    '--trace-path',
    o.tracePath,
    '--remove-workdir',
    // Explicit either way: a skipPermissions in the user's kubectl-ai config.yaml must not decide for them.
    `--skip-permissions=${o.yes}`,
    o.request,
  ];
}

export interface TracedCommand {
  tool: string;
  command: string;
  modifies?: string;
  ok: boolean;
  /** the command's error or stderr, first line */
  error?: string;
  stdout?: string;
}

interface TraceEvent {
  action?: string;
  payload?: {
    id?: string;
    name?: string;
    arguments?: Record<string, unknown>;
    response?: Record<string, unknown> | string;
    error?: string;
  };
}

// eslint-disable-next-line no-control-regex
export const stripAnsi = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');
const firstLine = (s: string) =>
  s
    .trim()
    .split('\n')
    .find((l) => l.trim())
    ?.trim() ?? '';

/** The tool calls in a kubectl-ai trace (YAML documents), each paired with its response. */
export function tracedCommands(trace: string): TracedCommand[] {
  const events = parseAllDocuments(trace)
    .map((d) => d.toJS() as TraceEvent | null)
    .filter((e): e is TraceEvent => !!e && typeof e === 'object');
  const byId = new Map<string, TracedCommand>();
  const out: TracedCommand[] = [];
  for (const e of events) {
    const p = e.payload ?? {};
    if (e.action === 'tool-request') {
      const c: TracedCommand = {
        tool: p.name ?? '?',
        command: String(p.arguments?.command ?? ''),
        ...(p.arguments?.modifies_resource ? { modifies: String(p.arguments.modifies_resource) } : {}),
        ok: false,
        error: 'no response recorded',
      };
      out.push(c);
      if (p.id) byId.set(p.id, c);
    } else if (e.action === 'tool-response' && p.id && byId.has(p.id)) {
      const c = byId.get(p.id)!;
      const r = typeof p.response === 'object' && p.response ? p.response : {};
      const err = p.error || (r.error as string | undefined) || '';
      const exit = Number(r.exit_code ?? 0);
      c.ok = !err && exit === 0;
      delete c.error;
      if (!c.ok) c.error = firstLine(err || String(r.stderr ?? '')) || `exit ${exit}`;
      if (r.stdout) c.stdout = String(r.stdout);
    }
  }
  return out;
}

/** A command that reaches past the run's namespace (kubectl-ai was told not to). */
export function outOfScope(command: string, namespace: string): boolean {
  if (/(^|\s)(-A|--all-namespaces)(\s|=|$)/.test(command)) return true;
  const re = /(?:^|\s)(?:-n|--namespace)(?:\s+|=)(\S+)/g;
  for (const m of command.matchAll(re)) if (m[1]!.replace(/^['"]|['"]$/g, '') !== namespace) return true;
  return false;
}

export interface AiJudgement {
  status: 'done' | 'failed' | 'skipped';
  /** one line for the action's detail and the notice */
  detail: string;
  commands: TracedCommand[];
  outOfScope: string[];
  /** kubectl-ai's answer (its stdout) */
  answer: string;
}

/** Judges a finished kubectl-ai run from its exit code, its output and its trace. */
export function judgeAiRun(
  r: { exitCode: number | null; stdout: string; stderr: string; trace: string; timedOut?: boolean },
  namespace: string,
): AiJudgement {
  let commands: TracedCommand[] = [];
  try {
    commands = tracedCommands(r.trace);
  } catch {
    /* an unreadable trace: judged from the output alone */
  }
  const scope = commands.filter((c) => outOfScope(c.command, namespace)).map((c) => c.command);
  const stdout = stripAnsi(r.stdout);
  // The answer without the "Running: <command>" lines quiet mode prints before each tool call.
  const kept = stdout
    .split('\n')
    .filter((l) => !/^\s*Running: /.test(l))
    .map((l) => l.trimEnd());
  // Its terminal rendering indents every line: taken off, evenly.
  const indent = Math.min(...kept.filter(Boolean).map((l) => /^ */.exec(l)![0].length), 80);
  const answer = kept
    .map((l) => l.slice(indent))
    .join('\n')
    .trim();
  const all = `${stdout}\n${stripAnsi(r.stderr)}`;
  const base = { commands, outOfScope: scope, answer };
  if (/cannot handle (permission|user choice) requests/i.test(all)) {
    const wanted = /^\* (.+)$/m.exec(all)?.[1];
    return {
      ...base,
      status: 'skipped',
      detail: `kubectl-ai wanted to change the cluster${wanted ? ` (${firstLine(wanted)})` : ''} and was refused: pass --yes to let it; nothing was changed by it`,
    };
  }
  // A non-zero exit, or an error it printed (even when it exited 0, or was stopped after it): classified by that error.
  const error = /^Error: /m.test(stdout)
    ? firstLine(stdout.slice(stdout.search(/^Error: /m))).slice('Error: '.length)
    : '';
  if (error || (r.exitCode !== 0 && !r.timedOut)) {
    const why = errorLine(r.stderr) || error;
    if (/\b429\b|rate.?limit|quota|RESOURCE_EXHAUSTED/i.test(all))
      return { ...base, status: 'failed', detail: 'the model is rate-limited (429): AI unavailable for now' };
    if (/connection refused|no such host|dial tcp|i\/o timeout|EOF\b|connection reset/i.test(all))
      return { ...base, status: 'failed', detail: `the model endpoint cannot be reached: ${firstLine(why)}` };
    if (/\b(401|403)\b|api key|unauthori[sz]ed/i.test(all))
      return { ...base, status: 'failed', detail: `the model refused the credentials: ${firstLine(why)}` };
    return {
      ...base,
      status: 'failed',
      detail: `kubectl-ai failed (exit ${r.exitCode ?? 'killed'}): ${firstLine(why) || firstLine(stdout)}`,
    };
  }
  if (r.timedOut) return { ...base, status: 'failed', detail: 'kubectl-ai did not finish in time (TODO_AI_TIMEOUT)' };
  const failed = commands.filter((c) => !c.ok);
  if (scope.length)
    return {
      ...base,
      status: 'failed',
      detail: `kubectl-ai ran a command outside namespace ${namespace}: ${firstLine(scope[0]!)}`,
    };
  if (failed.length)
    return {
      ...base,
      status: 'failed',
      detail: `${failed.length} of ${commands.length} command(s) kubectl-ai ran failed: ${firstLine(failed[0]!.command)}: ${failed[0]!.error}`,
    };
  return {
    ...base,
    status: 'done',
    detail: commands.length
      ? `ran ${commands.length} command(s): ${commands.map((c) => firstLine(c.command)).join('; ')}`
      : `answered without running a command: ${firstLine(answer).slice(0, 160)}`,
  };
}

/** kubectl-ai prints its usage text after an error: the reason is the first line that is not usage. */
function errorLine(stderr: string): string {
  const lines = stripAnsi(stderr)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const error = lines.find((l) => l.startsWith('Error: '));
  if (error) return error.slice('Error: '.length);
  // klog's own lines (E1127 12:00:00.000 pid file.go:1]) are noise next to the reason.
  return (
    lines.find(
      (l) => !/^[EWIF]\d{4} /.test(l) && !/^(Usage:|Flags:|Global Flags:|--|-[a-z],|Use "|kubectl-ai \[)/.test(l),
    ) ?? ''
  );
}
