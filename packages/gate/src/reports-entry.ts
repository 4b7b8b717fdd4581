/**
 * The parts of `@slmops/gate` that read files: bench reports (through
 * `@slmops/bench`) and the manifest. A separate entry point, so that code
 * which only evaluates or renders a verdict does not load them.
 */
export { comparableFingerprint, loadReportsDirectory, loadReportsFromFiles, MAX_REPORT_FILES, resultsFromReport, type DeviceReports } from "./reports.js";
export { gatesFromManifest, knownFromManifest, planFromManifest } from "./manifest-gates.js";
export { runGate, type GateRun, type GateRunOptions } from "./run.js";
