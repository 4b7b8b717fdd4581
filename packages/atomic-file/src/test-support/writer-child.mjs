// A process that writes with @slmops/atomic-file (the built package), for
// tests that kill it mid-write or run several at once. Prints progress lines
// on stdout.
//
//   hang   <target> <bytes>                 stream <bytes> into target, say "mid-write <temp>", then keep writing forever
//   loop   <target> <bytesA> <bytesB>       rewrite target forever, alternately all "a" / all "b"; "wrote" after each
//   writer <target> <byte> <count> <bytes>  write <count> times <bytes> copies of <byte>, then exit
import { Buffer } from "node:buffer";
import process from "node:process";
import { setInterval } from "node:timers";
import { createAtomicWriteStream, writeFileAtomic } from "@slmops/atomic-file";

const [mode, target, ...rest] = process.argv.slice(2);

if (mode === "hang") {
  const stream = createAtomicWriteStream(target);
  stream.write(Buffer.alloc(Number(rest[0]), "n"), () => {
    process.stdout.write(`mid-write ${stream.tempPath}\n`);
    setInterval(() => stream.write(Buffer.alloc(64 * 1024, "n")), 20);
  });
} else if (mode === "loop") {
  const contents = [Buffer.alloc(Number(rest[0]), "a"), Buffer.alloc(Number(rest[1]), "b")];
  for (let round = 0; ; round++) {
    await writeFileAtomic(target, contents[round % 2]);
    process.stdout.write("wrote\n");
  }
} else if (mode === "writer") {
  const content = Buffer.alloc(Number(rest[2]), rest[0]);
  for (let index = 0; index < Number(rest[1]); index++) await writeFileAtomic(target, content);
  process.stdout.write("done\n");
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
