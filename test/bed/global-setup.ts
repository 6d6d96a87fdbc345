// Vitest global setup for the "cluster" project: one test bed for the run.
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

export default async function setup(project: TestProject) {
  const { kubeconfig, created, timings } = await up((m) => process.stderr.write(`[test bed] ${m}\n`));
  process.stderr.write(
    `[test bed] ${created ? 'created' : 'reused'}: ${Object.entries(timings)
      .map(([k, v]) => `${k} ${v}s`)
      .join(', ')}\n`,
  );
  project.provide('kubeconfig', kubeconfig);
  project.provide('bedPath', bedEnv().PATH!);
  return async () => {
    if (created && !process.env.TODO_OPS_BED_KEEP) await down();
  };
}
