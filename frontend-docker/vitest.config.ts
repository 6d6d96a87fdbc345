import path from "node:path";
import { defineConfig } from "vitest/config";

// Unit tests only: pure modules, no server, no browser.
export default defineConfig({
  resolve: { alias: { "@": path.resolve(__dirname, "src") } },
  test: {
    include: ["tests/unit/**/*.test.ts"],
    environment: "node",
  },
});
