// Exec in a container through the API (what `kubectl exec` does), with streams:
// pg_dump's stdout into a file, a dump into psql's stdin. The exit code comes
// from the API's status channel, so "the command failed" (exit code N) and
// "exec itself failed" (no such container, executable not found) differ.
import type { V1Status } from '@kubernetes/client-node';
import { Exec } from './k8s.ts';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { Exit, OpsError } from '../kit/errors.ts';
import type { Kube } from './client.ts';

export interface ExecOptions {
  namespace: string;
  pod: string;
  container?: string;
  command: string[];
  /** stdin for the command; its end closes the command's stdin (v5 channel protocol) */
  stdin?: Readable | string | Buffer;
  /** where stdout goes; default: collected into the result */
  stdout?: Writable;
  stderr?: Writable;
  /** seconds; scripts pass ctx.timeoutSec (TODO_TIMEOUT) */
  timeoutSec: number;
}

export interface ExecResult {
  exitCode: number;
  /** what the command wrote, when no stdout/stderr stream was given */
  stdout: string;
  stderr: string;
}

/**
 * The exit code a status-channel message means: 0 on Success, N for
 * NonZeroExitCode; undefined when exec itself failed (the message says why).
 */
export function execExitCode(status: V1Status): number | undefined {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  if (status.reason === 'NonZeroExitCode' && cause?.message && /^\d+$/.test(cause.message))
    return Number(cause.message);
  return undefined;
}

export async function execInPod(kube: Kube, opts: ExecOptions): Promise<ExecResult> {
  const target = `${opts.pod}${opts.container ? ` -c ${opts.container}` : ''} -n ${opts.namespace}`;
  const collected = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  const sink = (chunks: Buffer[]) => {
    const s = new PassThrough();
    s.on('data', (b: Buffer) => chunks.push(b));
    return s;
  };
  const stdout = opts.stdout ?? sink(collected.stdout);
  const stderr = opts.stderr ?? sink(collected.stderr);
  const stdin =
    opts.stdin === undefined
      ? null
      : opts.stdin instanceof Readable
        ? opts.stdin
        : Readable.from([Buffer.from(opts.stdin)]);
  let status: V1Status | undefined;
  // Connecting is safe to retry (nothing has run yet); the command itself is not retried.
  let ws: Awaited<ReturnType<Exec['exec']>>;
  try {
    ws = await kube.call(`exec ${target} -- ${opts.command[0]}`, () =>
      new Exec(kube.kc).exec(
        opts.namespace,
        opts.pod,
        opts.container ?? '',
        opts.command,
        stdout,
        stderr,
        stdin,
        false,
        (s) => (status = s),
      ),
    );
  } catch (e) {
    if (e instanceof OpsError) throw e;
    // The WebSocket handshake's refusal: 404 no such pod, 400 no such container or pod not running.
    const msg = String((e as { message?: string })?.message ?? e);
    const code = /Unexpected server response: (\d+)/.exec(msg)?.[1];
    const why = code === '404' ? 'no such pod' : code === '400' ? 'no such container, or the pod is not running' : msg;
    throw new OpsError(
      `exec in ${target} refused${code ? ` (HTTP ${code})` : ''}: ${why}`,
      Exit.actionFailed,
      `kubectl -n ${opts.namespace} get pod ${opts.pod}`,
    );
  }
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.close();
      reject(
        new OpsError(
          `exec in ${target} timed out after ${opts.timeoutSec}s: ${opts.command.join(' ')}`,
          Exit.actionFailed,
        ),
      );
    }, opts.timeoutSec * 1000);
    ws.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.on('error', (e: Error) => {
      clearTimeout(timer);
      reject(new OpsError(`exec in ${target}: ${e.message}`, Exit.actionFailed));
    });
  });
  if (!status)
    throw new OpsError(`exec in ${target} ended without an exit status: ${opts.command.join(' ')}`, Exit.actionFailed);
  const exitCode = execExitCode(status);
  if (exitCode === undefined)
    throw new OpsError(
      `exec in ${target} failed: ${status.message ?? status.reason ?? 'unknown error'}`,
      Exit.actionFailed,
      `kubectl -n ${opts.namespace} describe pod ${opts.pod}`,
    );
  return {
    exitCode,
    stdout: Buffer.concat(collected.stdout).toString('utf8'),
    stderr: Buffer.concat(collected.stderr).toString('utf8'),
  };
}
