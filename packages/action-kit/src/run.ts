import * as core from "@actions/core";
import { ConfigurationError } from "@slmops/diagnostics";
import { annotate } from "./annotate.js";
import { failureMessage, internalErrorDetails } from "./errors.js";

/**
 * Runs an action's main function and turns whatever it throws into a failed
 * step: a {@link ConfigurationError} (the user's mistake) as its message alone,
 * with its diagnostics annotated on their files; any other error as a short
 * failure plus its full cause chain in the log, so it can be reported.
 * Never rejects; the process exit code is set to 1 on failure.
 */
export async function run(main: () => Promise<void> | void): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (error instanceof ConfigurationError) {
      if (error.diagnostics.length > 0) annotate(error.diagnostics);
      core.setFailed(failureMessage(error));
      return;
    }
    core.startGroup("Internal error details");
    core.info(internalErrorDetails(error));
    core.endGroup();
    core.setFailed(`${failureMessage(error)} (details in the log above; please report it)`);
  }
}
