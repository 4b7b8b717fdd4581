import { defineConfig } from "vitest/config";

// Making models, training tokenizers and opening ONNX Runtime sessions take
// seconds on a busy machine; these limits only catch hangs.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
