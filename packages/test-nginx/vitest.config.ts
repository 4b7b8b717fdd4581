import { defineConfig } from "vitest/config";

// Each test starts a real nginx (and one downloads a file through a rate
// limit for a few seconds), so the limits are generous.
export default defineConfig({
  test: { testTimeout: 60_000, hookTimeout: 120_000 },
});
