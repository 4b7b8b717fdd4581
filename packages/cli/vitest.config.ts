import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

// This is the longest suite of the repository: nearly every test spawns the
// real CLI and waits for it. vitest's default of one worker per core but one
// would run its files one at a time on a 2-core machine, where turbo starts
// this package's tests last (after every package it depends on) and they end
// up running alone with a core idle. Two files at a time, at least, keep both
// cores busy; the files are independent (each works in its own temp
// directories, and the bundle build that `npm pack` runs replaces dist/ by
// renames), as they are on any machine with more cores.
export default defineConfig({
  test: { maxWorkers: Math.max(2, availableParallelism() - 1) },
});
