// Speed of the regression check's bootstrap against the textbook bootstrap
// (draw n values with replacement, sort, take the percentile), measured in the
// same run on the same samples and generator. Prints a Markdown table.
//
//   pnpm --filter @slmops/gate bench
import { performance } from "node:perf_hooks";
import { bootstrapRelativeChange, createRandom, quantileOfSorted } from "../dist/index.js";

const RESAMPLES = 2000;
const CONFIDENCE = 0.95;

function lognormal(random, n, median, sigma) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const u = 1 - random();
    const v = random();
    out[i] = median * Math.exp(sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }
  return out;
}

/** The textbook percentile bootstrap of the relative change of quantile q. */
function textbook(baseline, candidate, q, seed) {
  const random = createRandom(seed);
  const draw = (sample) => {
    const n = sample.length;
    const resample = new Float64Array(n);
    for (let i = 0; i < n; i++) resample[i] = sample[Math.floor(random() * n)];
    resample.sort();
    return quantileOfSorted(resample, q);
  };
  const changes = new Float64Array(RESAMPLES);
  for (let b = 0; b < RESAMPLES; b++) changes[b] = draw(candidate) / draw(baseline) - 1;
  changes.sort();
  const tail = (1 - CONFIDENCE) / 2;
  return { lower: quantileOfSorted(changes, tail), upper: quantileOfSorted(changes, 1 - tail) };
}

function time(fn, minMs = 1500) {
  fn(); // warm-up
  let runs = 0;
  const start = performance.now();
  let result;
  while (performance.now() - start < minMs) {
    result = fn();
    runs++;
  }
  return { ms: (performance.now() - start) / runs, result };
}

const rows = [];
for (const n of [200, 3200]) {
  const random = createRandom(`bench-${n}`);
  const baseline = lognormal(random, n, 20, 0.08);
  const candidate = lognormal(random, n, 21, 0.08);
  for (const q of [0.5, 0.9]) {
    const fast = time(() => bootstrapRelativeChange(baseline, candidate, { quantile: q, confidence: CONFIDENCE, resamples: RESAMPLES, seed: "b" }));
    const slow = time(() => textbook(baseline, candidate, q, "b"));
    rows.push(
      `| ${n} | p${q * 100} | ${fast.ms.toFixed(2)} | ${slow.ms.toFixed(2)} | ${(slow.ms / fast.ms).toFixed(1)}× | ` +
        `${(fast.result.lower * 100).toFixed(2)}% … ${(fast.result.upper * 100).toFixed(2)}% | ${(slow.result.lower * 100).toFixed(2)}% … ${(slow.result.upper * 100).toFixed(2)}% |`,
    );
  }
}
console.log(`Bootstrap of the relative change, ${RESAMPLES} resamples, ${CONFIDENCE * 100}% interval, Node ${process.version}`);
console.log("");
console.log("| samples per side | statistic | gate (ms) | textbook resample+sort (ms) | speed-up | gate interval | textbook interval |");
console.log("| ---: | --- | ---: | ---: | ---: | --- | --- |");
for (const row of rows) console.log(row);
