import { defineConfig } from "vitest/config";

// Tests talk to a real HTTP server that loads GitHub's 13 MB OpenAPI
// description and compiles schemas on first use; on a loaded machine that
// takes seconds, so the limits are generous.
export default defineConfig({
  test: { testTimeout: 60_000, hookTimeout: 120_000 },
});
