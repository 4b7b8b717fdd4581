import type { Command } from "../command.js";
import { agentCommand } from "./agent.js";
import { benchCommand } from "./bench.js";
import { collectorCommand } from "./collector.js";
import { doctorCommand } from "./doctor.js";
import { fleetCommand } from "./fleet.js";
import { gateCommand } from "./gate.js";
import { initCommand } from "./init.js";
import { keysCommand } from "./keys.js";
import { makeModelCommand } from "./make-model.js";
import { optimizeCommand } from "./optimize.js";
import { planCommand } from "./plan.js";
import { releaseCommand } from "./release.js";
import { validateCommand } from "./validate.js";

/** Every `slmops` command, in the order `slmops --help` lists them. Add new ones here. */
export const commands: readonly Command[] = [initCommand, validateCommand, makeModelCommand, optimizeCommand, benchCommand, gateCommand, keysCommand, releaseCommand, agentCommand, collectorCommand, fleetCommand, planCommand, doctorCommand];
