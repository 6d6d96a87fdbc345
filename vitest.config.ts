import { defineConfig } from 'vitest/config';

// Projects: "unit" needs nothing; "cluster" and "real-node" get the real test
// bed (test/bed: control plane, kwok's fake nodes and one real node running
// containers), started once by their global setup and shared by every file;
// "images" builds the real images.
// The cluster files mostly wait on the API server, each in namespaces of its
// own: several run at once. The real-node files run pods on the one real node
// (2 CPUs, a pool of local volumes, reaction times measured there): two at a
// time, beside them. The images project runs after the cluster files.

/** Test files at once, all projects together (TODO_OPS_TEST_FORKS): see README "Tests" for the measurements. */
const forks = Number(process.env.TODO_OPS_TEST_FORKS ?? 3);
const realNodeThreads = Number(process.env.TODO_OPS_REAL_NODE_THREADS ?? 2);
const bed = { globalSetup: ['test/bed/global-setup.ts'], testTimeout: 180_000, hookTimeout: 300_000 };

export default defineConfig({
  test: {
    reporters: process.env.CI ? ['verbose'] : ['default'],
    pool: 'forks',
    // Vitest sizes each pool from these, not from a project's own poolOptions.
    poolOptions: {
      forks: { minForks: 1, maxForks: forks },
      threads: { minThreads: 1, maxThreads: realNodeThreads },
    },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      { test: { name: 'cluster', include: ['test/cluster/**/*.test.ts'], ...bed } },
      {
        test: {
          name: 'real-node',
          include: ['test/real-node/**/*.test.ts'],
          ...bed,
          // Another pool than the cluster project's forks: vitest runs different pools at the same time, and a
          // single-fork project only after the forks pool's parallel files. Two files at a time
          // (TODO_OPS_REAL_NODE_THREADS): each in namespaces of its own, the node's volume pool has room for both.
          pool: 'threads',
        },
      },
      {
        test: {
          // Real image builds with buildah FROM stand-in bases (test/images/setup.sh installs buildah).
          name: 'images',
          include: ['test/images/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 1_800_000,
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
