import { defineConfig } from "vitest/config";

// Starting Chromium on a loaded machine takes seconds; the limits are generous.
export default defineConfig({
  test: { testTimeout: 60_000, hookTimeout: 120_000 },
});
