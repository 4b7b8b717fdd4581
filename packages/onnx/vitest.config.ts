import { defineConfig } from "vitest/config";

// Tests here run real ONNX Runtime sessions and write real files; give slow CI machines room.
export default defineConfig({ test: { testTimeout: 60_000 } });
