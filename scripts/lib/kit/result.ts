// The one result shape every script produces: findings (what it saw), actions
// (what it did or would do) and free data. `main` prints it as text or as one
// JSON envelope and derives the exit code from it, so cron logs, alerting and
// the bootstrap chain all read the same thing. Schema: result.schema.json.
import { Exit, type ExitCode } from './errors.ts';

export type Level = 'ok' | 'info' | 'warn' | 'fail';

/** The Kubernetes object a finding or an action is about. */
export interface ObjectRef {
  kind: string;
  name: string;
  namespace?: string;
}

export interface Finding {
  /** what was checked or found, e.g. "nodes" or "pod crash-looping" */
  name: string;
  level: Level;
  detail: string;
  /** what to do about it: the next command to run, where possible */
  hint?: string;
  object?: ObjectRef;
  /** a failed finding that is not required is reported but does not fail the run */
  required?: boolean;
  /** supporting facts (exit code, reason, last log lines...) for machines */
  evidence?: Record<string, unknown>;
}

type ActionStatus = 'planned' | 'done' | 'failed' | 'skipped';

export interface Action {
  /** a short verb phrase: "helm upgrade", "delete pod", "scale" */
  what: string;
  /** what it acts on: "deployment/todo-backend", "release todo-chatbot" */
  target: string;
  /** why the plan contains it */
  reason: string;
  status: ActionStatus;
  /** loses data or availability: asks for confirmation (or --yes) */
  destructive?: boolean;
  /** outcome, or why it failed or was skipped */
  detail?: string;
  durationMs?: number;
}

export interface Envelope {
  script: string;
  ok: boolean;
  exitCode: ExitCode;
  profile: string | null;
  context: string | null;
  namespace: string | null;
  release: string | null;
  dryRun: boolean;
  startedAt: string;
  durationMs: number;
  findings: Finding[];
  actions: Action[];
  data: Record<string, unknown>;
  error?: { message: string; hint?: string };
}

/** What a script's run builds up; `main` turns it into the envelope. */
export class Result {
  readonly findings: Finding[] = [];
  readonly actions: Action[] = [];
  data: Record<string, unknown> = {};
  /** set when the script knows better than the derivation (e.g. monitor's "down" = 2) */
  exitCode?: ExitCode;

  finding(f: Finding): Finding {
    this.findings.push(f);
    return f;
  }
  action(a: Action): Action {
    this.actions.push(a);
    return a;
  }
}

/**
 * The exit code a result implies: a failed action is 4, a failed required
 * finding is 1, otherwise 0 — unless the script set one explicitly.
 */
export function deriveExitCode(r: Pick<Result, 'findings' | 'actions' | 'exitCode'>): ExitCode {
  if (r.exitCode !== undefined) return r.exitCode;
  if (r.actions.some((a) => a.status === 'failed')) return Exit.actionFailed;
  if (r.findings.some((f) => f.level === 'fail' && f.required !== false)) return Exit.problem;
  return Exit.ok;
}
