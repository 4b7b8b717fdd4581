import { defineConfig } from "vitest/config";

// The statistical simulations and the report readers (which load ONNX Runtime
// through the bench package) take seconds on a loaded machine, so the limits
// are generous.
export default defineConfig({
  test: { testTimeout: 60_000, hookTimeout: 120_000 },
});
