/**
 * ONNX Runtime's start-up, paid ahead. The first session a process creates
 * also initialises ONNX Runtime's native environment and runs its session
 * code for the first time; a process that will create one session later,
 * and can start earlier (the agent's health check, whose process starts
 * while the update downloads), pays that beforehand with a model of one
 * MatMul.
 */
import { createSession, tensor } from "./index.js";

/**
 * The warm-up model: `y = MatMul(x, x)`, x float32 [2, 2], opset 17, IR
 * version 8 (the test rebuilds these bytes and runs them).
 */
export const WARM_UP_MODEL: Uint8Array = Uint8Array.from(
  Buffer.from("CAgSDnNsbW9wcy13YXJtLXVwOk0KGwoBeAoBeBIBeRoITWF0TXVsXzAiBk1hdE11bBIEdGlueVoTCgF4Eg4KDAgBEggKAggCCgIIAmITCgF5Eg4KDAgBEggKAggCCgIIAkIECgAQEQ==", "base64"),
);

/**
 * Creates, runs and releases a session on {@link WARM_UP_MODEL}, so that the
 * next session this process creates does not pay for ONNX Runtime's own
 * initialisation. Throws what {@link createSession} or a run throws; a
 * caller for whom the warm-up is only a head start may ignore that, since
 * its real session reports the same problem.
 */
export async function warmUp(): Promise<void> {
  const session = await createSession(WARM_UP_MODEL);
  try {
    await session.run({ x: tensor("float32", new Float32Array([1, 2, 3, 4]), [2, 2]) });
  } finally {
    await session.release();
  }
}
