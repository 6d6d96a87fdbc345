// Plan, then act. A script that changes the cluster computes its plan first
// (a pure function: observed state in, PlannedActions out) and hands it here.
// applyPlan prints nothing itself: it asks before destructive actions, honours
// --dry-run, runs the actions in order and records each in the Result.
import { Exit, OpsError, usageError } from './errors.ts';
import { errorMessage, type Context } from './cli.ts';
import type { Action } from './result.ts';

export interface PlannedAction<P = unknown> {
  what: string;
  target: string;
  reason: string;
  /** loses data or availability: needs --yes, or a yes on a terminal */
  destructive?: boolean;
  /** destructive but safe for cron (e.g. deleting a crash-looping pod its controller replaces) */
  unattended?: boolean;
  /** what apply needs; plain data so plans are easy to test and print */
  params?: P;
}

export interface ApplyPlanOptions {
  /** under --dry-run, still call apply with dryRun=true (server-side dry run) */
  serverDryRun?: boolean;
  /** keep going after a failed action (default: stop, later actions are skipped) */
  continueOnFailure?: boolean;
  /** asks the user; default reads a line from the terminal */
  ask?: (question: string) => Promise<boolean>;
  isTTY?: boolean;
}

export type Apply<P> = (action: PlannedAction<P>, dryRun: boolean) => Promise<string | void>;

/**
 * Destructive actions that need consent: refused without a terminal unless
 * --yes (cron and CI never hang on a prompt); asked about on a terminal.
 * Called before anything runs, so a refusal changes nothing.
 */
export async function confirm(
  ctx: Pick<Context, 'dryRun' | 'yes' | 'spec'>,
  plan: readonly PlannedAction[],
  opts: ApplyPlanOptions = {},
): Promise<void> {
  if (ctx.dryRun || ctx.yes) return;
  const risky = plan.filter((a) => a.destructive && !a.unattended);
  if (!risky.length) return;
  const list = risky.map((a) => `${a.what} ${a.target}`).join(', ');
  const tty = opts.isTTY ?? Boolean(process.stdin.isTTY && process.stderr.isTTY);
  if (!tty)
    throw usageError(
      `refusing to ${list} without --yes (no terminal to ask)`,
      'add --yes to confirm, or --dry-run to see the plan',
    );
  const ask = opts.ask ?? askOnTerminal;
  if (!(await ask(`${ctx.spec.name}: about to ${list}. Continue? [y/N] `)))
    throw new OpsError('cancelled: nothing was changed', Exit.usage);
}

/** A yes/no question on the terminal (stderr), default no. */
export async function askOnTerminal(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export async function applyPlan<P>(
  ctx: Context,
  plan: readonly PlannedAction<P>[],
  apply: Apply<P>,
  opts: ApplyPlanOptions = {},
): Promise<Action[]> {
  await confirm(ctx, plan, opts);
  const done: Action[] = [];
  let stopped = false;
  for (const p of plan) {
    const a: Action = {
      what: p.what,
      target: p.target,
      reason: p.reason,
      status: 'planned',
      ...(p.destructive ? { destructive: true } : {}),
    };
    done.push(ctx.result.action(a));
    if (stopped) {
      a.status = 'skipped';
      a.detail = 'an earlier action failed';
      continue;
    }
    if (ctx.dryRun && !opts.serverDryRun) continue;
    const t0 = Date.now();
    try {
      const detail = await apply(p, ctx.dryRun);
      a.status = ctx.dryRun ? 'planned' : 'done';
      if (detail) a.detail = detail;
    } catch (e) {
      // Unreachable cluster and usage errors end the run with their own code.
      if (e instanceof OpsError && (e.code === Exit.unreachable || e.code === Exit.usage)) {
        a.status = 'failed';
        a.detail = e.message;
        throw e;
      }
      a.status = 'failed';
      a.detail = errorMessage(e);
      if (!opts.continueOnFailure) stopped = true;
    } finally {
      a.durationMs = Date.now() - t0;
    }
  }
  return done;
}
