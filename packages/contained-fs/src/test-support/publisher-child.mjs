// A process that publishes builds of one directory in a loop with
// @slmops/contained-fs (the built package), for tests that kill it at
// arbitrary moments. Each build holds `a` and `b`, both containing the
// build's round number, 256 KiB each; prints "published <round>" after each.
//
//   node publisher-child.mjs <root> <parent> <name>
import process from "node:process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { publishBuild, startBuild } from "@slmops/contained-fs";

const [root, parent, name] = process.argv.slice(2);
for (let round = 0; ; round++) {
  const build = await startBuild(root, parent, name);
  const body = String(round).padEnd(256 * 1024, ".");
  await writeFile(join(build.path, "a"), body);
  await writeFile(join(build.path, "b"), body);
  await publishBuild(build);
  process.stdout.write(`published ${round}\n`);
}
