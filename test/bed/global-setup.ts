// Vitest global setup for the "cluster" and "real-node" projects: one test bed for the run.
// A bed this run started is deleted afterwards (unless TODO_OPS_BED_KEEP=1);
// one that was already running (npm run cluster:up, another run) is left alone.
import type { TestProject } from 'vitest/node';
import { up, down, bedEnv } from '../../scripts/lib/local-cluster/cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    bedPath: string;
  }
}

/** The projects that need the bed (cluster, real-node) share one start and one stop, in vitest's main process. */
const shared = globalThis as { todoOpsBed?: { started: ReturnType<typeof up>; users: number } };

export default async function setup(project: TestProject) {
  const first = !shared.todoOpsBed;
  const bed = (shared.todoOpsBed ??= {
    started: up((m) => process.stderr.write(`[test bed] ${m}\n`)),
    users: 0,
  });
  bed.users++;
  const { kubeconfig, created, timings } = await bed.started;
  if (first)
    process.stderr.write(
      `[test bed] ${created ? 'created' : 'reused'}: ${Object.entries(timings)
        .map(([k, v]) => `${k} ${v}s`)
        .join(', ')}\n`,
    );
  project.provide('kubeconfig', kubeconfig);
  project.provide('bedPath', bedEnv().PATH!);
  return async () => {
    if (--bed.users === 0 && created && !process.env.TODO_OPS_BED_KEEP) await down();
  };
}
