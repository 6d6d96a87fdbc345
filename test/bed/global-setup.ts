// Vitest global setup for the "cluster" project: one test bed for the run.
// TODO_OPS_BED_KEEP=1 leaves it running afterwards for a fast next run.
import type { TestProject } from 'vitest/node';
import { up, down, bedEnv } from './bed.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    bedPath: string;
  }
}

export default async function setup(project: TestProject) {
  const kubeconfig = await up((m) => process.stderr.write(`[test bed] ${m}\n`));
  project.provide('kubeconfig', kubeconfig);
  project.provide('bedPath', bedEnv().PATH!);
  return async () => {
    if (!process.env.TODO_OPS_BED_KEEP) await down();
  };
}
