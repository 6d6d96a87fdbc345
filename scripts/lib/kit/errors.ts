// Exit codes are defined once here and documented in the README and in every
// script's --help. A script never exits 0 when it found a problem or an action failed.
export const Exit = {
  ok: 0,
  /** a check found a problem, or the app is degraded */
  problem: 1,
  /** bad flags, bad config, or bad input: nothing was changed */
  usage: 2,
  /** the Kubernetes API could not be reached */
  unreachable: 3,
  /** an action (deploy, scale, restore...) was attempted and failed */
  actionFailed: 4,
  /** another run of the same script holds the lock */
  busy: 5,
  /** monitor: the app is down (a workload has no ready replica) */
  down: 6,
} as const;
export type ExitCode = (typeof Exit)[keyof typeof Exit];

export const exitCodeHelp = `Exit codes:
  0  ok
  1  a problem was found (check failed, app degraded)
  2  usage or configuration error (nothing was changed)
  3  Kubernetes API unreachable
  4  an action failed
  5  another run holds the lock
  6  the app is down (monitor: a workload has no ready replica)`;

/** An error that knows how the process should exit and what the user can do about it. */
export class OpsError extends Error {
  readonly code: ExitCode;
  readonly hint?: string;
  constructor(message: string, code: ExitCode = Exit.actionFailed, hint?: string) {
    super(message);
    this.name = 'OpsError';
    this.code = code;
    this.hint = hint;
  }
}

export const usageError = (message: string, hint?: string) => new OpsError(message, Exit.usage, hint);
