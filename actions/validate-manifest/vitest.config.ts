import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    server: {
      // GitHub's workflow parser imports its JSON schemas without import
      // attributes, which Node refuses; vitest transforms it instead.
      deps: { inline: ["@actions/workflow-parser"] },
    },
  },
});
