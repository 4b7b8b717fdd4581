/**
 * The bundle that needs ONNX Runtime (`dist/optimize.js`). It is loaded by
 * `index.ts` once `onnxruntime-node` has a location, and reports its own
 * failures as the step's.
 */
import { run } from "@slmops/action-kit";
import { main } from "./main.js";

await run(main);
