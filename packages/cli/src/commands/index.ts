import type { Command } from "../command.js";
import { benchCommand } from "./bench.js";
import { gateCommand } from "./gate.js";
import { makeModelCommand } from "./make-model.js";
import { optimizeCommand } from "./optimize.js";
import { validateCommand } from "./validate.js";

/** Every `slmops` command, in the order `slmops --help` lists them. Add new ones here. */
export const commands: readonly Command[] = [validateCommand, makeModelCommand, optimizeCommand, benchCommand, gateCommand];
