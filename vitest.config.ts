import { defineConfig } from 'vitest/config';

// Projects: "unit" needs nothing; "cluster" gets the real test bed (test/bed:
// control plane, kwok's fake nodes and one real node running containers),
// started once by its global setup and shared by every file in it; "images"
// builds the real images.
export default defineConfig({
  test: {
    reporters: process.env.CI ? ['verbose'] : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          globalSetup: ['test/bed/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // The files share one API server and one real node: they run one at a time, in one fork. The other
          // projects (unit, images) run alongside them, as vitest runs projects concurrently.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
      {
        test: {
          // Real image builds with buildah FROM stand-in bases (test/images/setup.sh installs buildah).
          name: 'images',
          include: ['test/images/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 1_800_000,
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
