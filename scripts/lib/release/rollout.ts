// After helm has applied a release: wait for its workloads with progress, watch
// them a little longer for a crash the rollout missed, show a crash loop's last
// log lines, and roll back to the previous revision when the rollout failed.
import type { V1Pod } from '@kubernetes/client-node';
import type { Context } from '../kit/cli.ts';
import { podLogs } from '../kube/logs.ts';
import { isContainerFailure } from '../kube/pod-status.ts';
import {
  RolloutError,
  blamePod,
  describeProblem,
  rolloutState,
  selectorString,
  waitForRollout,
  type WorkloadKind,
} from '../kube/rollout.ts';
import { watchUntil } from '../kube/watch.ts';

/**
 * Waits for every workload to roll out, in parallel, printing progress lines.
 * A RolloutError gets the failing container's last log lines when the kubelet has them.
 */
export async function waitWorkloads(
  ctx: Context,
  workloads: { kind: WorkloadKind; name: string }[],
  timeoutSec = ctx.timeoutSec,
): Promise<void> {
  const kube = await ctx.kube();
  await ctx.out.progress(
    `waiting for ${workloads.map((w) => `${w.kind.toLowerCase()}/${w.name}`).join(', ')}`,
    async () => {
      const results = await Promise.allSettled(
        workloads.map((w) =>
          waitForRollout(kube, {
            ...w,
            namespace: ctx.namespace,
            timeoutSec,
            onProgress: (s) => !ctx.json && ctx.out.debug(s.message),
          }),
        ),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  );
}

/** For a crash loop: the failing container's last log lines (when the kubelet has them), as a finding. */
export async function crashLogs(ctx: Context, err: unknown): Promise<void> {
  if (
    !(err instanceof RolloutError) ||
    !err.problem ||
    !(err.problem.reason === 'CrashLoopBackOff' || err.problem.exitCode !== undefined)
  )
    return;
  const kube = await ctx.kube();
  const logs = await podLogs(kube, {
    namespace: ctx.namespace,
    pod: err.problem.pod,
    container: err.problem.container,
    previous: true,
    tailLines: 10,
  }).catch((e: Error) => ({ text: '', unavailable: e.message }));
  const lines = logs.text ? logs.text.trim().split('\n').slice(-10) : [];
  ctx.result.finding({
    name: 'crash loop logs',
    level: 'info',
    detail: lines.length ? lines.join(' | ') : `no log lines: ${logs.unavailable ?? 'empty'}`,
    object: { kind: 'Pod', name: err.problem.pod, namespace: ctx.namespace },
    required: false,
    evidence: { lastLines: lines },
  });
}

/**
 * After a failed rollout: `helm rollback --wait` to `prev`, as its own action
 * (done or failed, timed). `before` runs first inside the action (deploy puts
 * the previous Secret back) and returns a note for the detail.
 */
export async function rollBack(ctx: Context, prev: number, before?: () => Promise<string>): Promise<void> {
  const helm = await ctx.helm();
  const a = ctx.result.action({
    what: 'helm rollback',
    target: `release/${ctx.release}`,
    reason: `the rollout failed; back to revision ${prev}`,
    status: 'planned',
  });
  const t0 = Date.now();
  try {
    const note = before ? await before() : '';
    await helm.rollback(ctx.release, prev, { wait: true, timeoutSec: ctx.timeoutSec });
    a.status = 'done';
    a.detail = `serving revision ${prev} again${note}`;
  } catch (e) {
    a.status = 'failed';
    a.detail = (e as Error).message;
  }
  a.durationMs = Date.now() - t0;
}

/**
 * After a rollout, watches the workloads' pods for `seconds`: a pod that was
 * Ready for a moment and then crashed (the rollout "succeeded" too early) fails
 * the deploy with its reason. Informer-driven; resolves when the time is up.
 */
export async function settle(
  ctx: Context,
  workloads: { kind: WorkloadKind; name: string; selector?: Record<string, string> }[],
  seconds: number,
): Promise<void> {
  if (seconds <= 0 || !workloads.length) return;
  const kube = await ctx.kube();
  await ctx.out.progress(`watching ${workloads.map((w) => w.name).join(', ')} for ${seconds}s`, () =>
    Promise.all(
      workloads.map((w) =>
        watchUntil<V1Pod, true>(kube, {
          apiVersion: 'v1',
          kind: 'Pod',
          namespace: ctx.namespace,
          labelSelector: selectorString({ matchLabels: w.selector }),
          timeoutSec: seconds,
          until: (pods) => {
            const blamed = blamePod(pods.filter((p) => !p.metadata?.deletionTimestamp));
            if (!blamed || !isContainerFailure(blamed.problem.reason)) return undefined;
            const state = { ...rolloutState(w.kind, { metadata: { name: w.name } }), done: false };
            return new RolloutError(
              `${w.kind.toLowerCase()}/${w.name} failed after its rollout; ${describeProblem(blamed.problem)}`,
              state,
              blamed.problem,
              `kubectl -n ${ctx.namespace} logs ${blamed.problem.pod} --previous`,
            );
          },
          // The time is up and no pod failed: the rollout holds.
          onTimeout: () => true,
        }),
      ),
    ).then(() => undefined),
  );
}
