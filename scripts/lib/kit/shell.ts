// The one place that builds zx `$` presets for external CLIs (helm, kubectl,
// builders): quiet, nothrow, a timeout, the command line logged under
// --verbose with secrets scrubbed, and a failure turned into an OpsError that
// carries the tool's own last error line.
import { $, type Duration, type ProcessOutput } from 'zx';
import { Exit, OpsError, type ExitCode } from './errors.ts';
import { quote } from './hints.ts';
import { scrub } from './output.ts';

export interface ShellOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeout?: Duration;
  /** data for stdin: how secrets reach a tool, never as arguments */
  input?: string;
  /** stream the tool's output to ours (long builds); default captures it */
  stream?: boolean;
  log?: (msg: string) => void;
}

/** A zx `$` with the suite's defaults. */
export function shell(o: ShellOptions = {}) {
  return $({
    quiet: !o.stream,
    nothrow: true,
    env: o.env ?? process.env,
    cwd: o.cwd,
    timeout: o.timeout,
    input: o.input,
  });
}

// hints.ts's quoting: a bare {a,b} would be brace-expanded by the shell the line is pasted into.
export const commandLine = (bin: string, args: readonly string[]) => [bin, ...args].map(quote).join(' ');

/** The tool's own reason: its last non-empty stderr line (else stdout's). */
function lastLine(res: ProcessOutput): string {
  return (
    res.stderr.trim().split('\n').filter(Boolean).pop() ?? res.stdout.trim().split('\n').filter(Boolean).pop() ?? ''
  );
}

export interface RunOptions extends ShellOptions {
  /** maps a failure to an exit code other than 4 (e.g. 3 for an unreachable cluster) */
  classify?: (res: ProcessOutput) => ExitCode | undefined;
  /** what a failure message calls the command (default: bin and first argument) */
  what?: string;
}

/** Runs a tool; a non-zero exit becomes an OpsError with the tool's reason. */
export async function run(bin: string, args: readonly string[], o: RunOptions = {}): Promise<ProcessOutput> {
  o.log?.(scrub(`$ ${commandLine(bin, args)}`));
  const res = await shell(o)`${bin} ${args}`;
  if (res.exitCode !== 0) {
    const code = o.classify?.(res) ?? Exit.actionFailed;
    const why = res.exitCode === null ? `killed (${res.signal ?? 'timeout'})` : `exit ${res.exitCode}`;
    throw new OpsError(scrub(`${o.what ?? `${bin} ${args[0] ?? ''}`.trim()} failed (${why}): ${lastLine(res)}`), code);
  }
  return res;
}
