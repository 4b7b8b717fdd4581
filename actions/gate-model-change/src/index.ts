import { run } from "@slmops/action-kit";
import { main } from "./main.js";

await run(main);
