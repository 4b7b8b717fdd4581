/**
 * Where a verdict goes: the pull request (comment and check run), the job
 * summary alone, or files for an artifact that a `workflow_run` follow-up
 * publishes — the only way for a fork, whose token cannot write.
 */
import { ConfigurationError } from "@slmops/diagnostics";

export type PublishInput = "auto" | "comment-and-check" | "summary-only" | "artifact";
export type PublishTarget = Exclude<PublishInput, "auto">;

const INPUTS: readonly PublishInput[] = ["auto", "comment-and-check", "summary-only", "artifact"];

/** The `publish` input, checked. */
export function parsePublishInput(value: string): PublishInput {
  const v = value.trim() === "" ? "auto" : value.trim();
  if ((INPUTS as readonly string[]).includes(v)) return v as PublishInput;
  throw new ConfigurationError(`Input \`publish\` must be one of ${INPUTS.map((i) => `\`${i}\``).join(", ")}; got \`${value}\`.`);
}

/**
 * `auto`: a fork's pull request gets an artifact (its token is read-only);
 * anything else gets the comment (on a pull request) and the check run.
 */
export function choosePublishTarget(input: PublishInput, pullRequest: { readonly fromFork: boolean } | undefined): PublishTarget {
  if (input !== "auto") return input;
  return pullRequest?.fromFork ? "artifact" : "comment-and-check";
}
