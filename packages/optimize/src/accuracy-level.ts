/**
 * The default `accuracy-level` of block-wise quantization (MatMulNBits'
 * `accuracy_level`: the precision its CPU kernel computes in), chosen for
 * the execution providers the variant will run on when the manifest does
 * not write one.
 *
 * The rule: the fast setting is the default where it costs no measurable
 * accuracy — here, under 5% of the weight quantization's own KL divergence
 * against fp32, averaged over the maker's eight fitted decoders
 * (`structured-kl.test.ts` holds the figures to it).
 *
 * - On ONNX Runtime's CPU provider, `int8` (level 4) quantizes each block of
 *   the activations to 8 bits and runs integer dot products: on the 100M
 *   preset int4 decodes at 4.0× fp32 against 1.9× at the exact level, KL
 *   1.45e-2 against 1.44e-2 (BENCHMARKS.md). For 4-bit weights (rtn and
 *   minimize-error) it adds 2.4–2.7% to the mean KL on the fitted decoders:
 *   the default. For gptq, whose KL is four times lower, the same
 *   rounding adds about 6%, and for 8-bit weights it multiplies the KL by
 *   1.7–2.7: both keep the exact level (ONNX Runtime's default) unless written.
 *   But an 8-bit override in a 4-bit pass (one that keeps the LM head at 8
 *   bits) takes `int8` too: their added error (6.7e-5 → 1.1e-4 nats
 *   on the 100M preset) is under 1% of what the 4-bit nodes cost, and the
 *   8-bit kernel at the exact level decodes at a tenth of fp32's speed, so an
 *   exact 8-bit head alone made that variant 0.16× fp32 (BENCHMARKS.md).
 * - XNNPACK, CoreML and NNAPI do not run `com.microsoft` MatMulNBits; ONNX
 *   Runtime gives those nodes to the CPU provider, so the CPU's choice holds.
 * - CUDA, TensorRT and DirectML ignore the attribute: no preference.
 * - WebGPU, QNN and OpenVINO read it or compile the node their own way, and
 *   nothing here measures them: with one of those, ONNX Runtime's default stays.
 */
import { ACCURACY_LEVELS, type BlockSettings } from "./pass-options.js";

const INT8_COMPUTE = ACCURACY_LEVELS.int8;

type Preference = "cpu" | "ignores" | "unmeasured";

const PROVIDERS: Readonly<Record<string, Preference>> = {
  cpu: "cpu",
  xnnpack: "cpu",
  coreml: "cpu",
  nnapi: "cpu",
  cuda: "ignores",
  tensorrt: "ignores",
  dml: "ignores",
  webgpu: "unmeasured",
  qnn: "unmeasured",
  openvino: "unmeasured",
};

/** Whether the CPU provider's fast level costs no measurable accuracy for these settings (see the module comment). */
function cpuPrefersInt8(s: BlockSettings, beside4Bit: boolean): boolean {
  return s.weights === "int4" ? s.method !== "gptq" : beside4Bit;
}

/**
 * `settings` with the default accuracy level for `providers` filled in (and
 * why, in `accuracyLevelDefault`), or as they are when the level was written
 * or no default applies. `beside4Bit`: the same pass quantizes other nodes to
 * 4 bits (mixed precision).
 */
export function withDefaultAccuracyLevel<S extends BlockSettings>(settings: S, providers: readonly string[], beside4Bit = false): S {
  if (settings.accuracyLevel !== undefined || !cpuPrefersInt8(settings, beside4Bit)) return settings;
  const named = providers.length === 0 ? ["cpu"] : providers.map((p) => p.toLowerCase());
  const unmeasured = named.filter((p) => (PROVIDERS[p] ?? "unmeasured") === "unmeasured");
  if (unmeasured.length > 0) return settings;
  const deciding = named.filter((p) => PROVIDERS[p] === "cpu");
  if (deciding.length === 0) return settings; // every provider ignores it
  const why = settings.weights === "int8" ? `default for ${deciding.join(", ")} beside 4-bit weights` : `default for ${deciding.join(", ")}`;
  return { ...settings, accuracyLevel: INT8_COMPUTE, accuracyLevelDefault: why };
}
