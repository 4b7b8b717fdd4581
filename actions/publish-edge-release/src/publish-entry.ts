/**
 * The bundle that needs ONNX Runtime (`dist/publish.js`). It is loaded by
 * `index.ts` once `onnxruntime-node` has a location, and reports its own
 * failures as the step's.
 */
import { run } from "@slmops/action-kit";
import { maskKeyInputs } from "./keys.js";
import { main } from "./main.js";

maskKeyInputs();
await run(main);
