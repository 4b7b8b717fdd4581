import { defineConfig } from "vitest/config";

// The suites start real HTTP servers, SQLite files and a throwaway PostgreSQL
// cluster (initdb takes a few seconds on a loaded machine), so the limits are
// generous. Files run one at a time: each PostgreSQL suite starts its own cluster.
export default defineConfig({
  test: { testTimeout: 60_000, hookTimeout: 120_000, fileParallelism: false },
});
