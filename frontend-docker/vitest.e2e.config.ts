import { defineConfig } from "vitest/config";

// One end-to-end file: builds the app, starts it and the real backend, and
// drives Debian's Chromium. Slow on a busy 2-core machine, hence the timeouts.
export default defineConfig({
  test: {
    include: ["tests/e2e/**/*.e2e.test.ts"],
    environment: "node",
    testTimeout: 180_000,
    hookTimeout: 900_000,
    fileParallelism: false,
  },
});
