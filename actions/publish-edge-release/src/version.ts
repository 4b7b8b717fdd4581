/**
 * Which version a run publishes: the `version` input; else, on a tag push
 * (`refs/tags/v1.4.0`), the tag's version; else a pre-release of 0.0.0 named
 * by the commit, so every commit of the default branch is a distinct version.
 */
import { ConfigurationError } from "@slmops/action-kit";
import { checkVersion, defaultReleaseVersion } from "@slmops/edge-release";

const TAG = /^refs\/tags\/v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/;

export interface VersionChoice {
  readonly version: string;
  /** Where it came from, for the log. */
  readonly from: "input" | "tag" | "commit";
}

export function releaseVersion(input: string, ref: string | undefined, sourceCommit: string): VersionChoice {
  if (input !== "") {
    try {
      return { version: checkVersion(input.replace(/^v(?=\d)/, "")), from: "input" };
    } catch (error) {
      throw new ConfigurationError(`Input \`version\` (\`${input}\`) is not a semantic version such as 1.4.0 or 1.4.0-rc.1.`, { cause: error });
    }
  }
  const tag = TAG.exec(ref ?? "");
  if (tag?.[1]) {
    try {
      return { version: checkVersion(tag[1]), from: "tag" };
    } catch {
      // A tag such as v1.2.3-01 that is not semver: fall through to the commit's version.
    }
  }
  return { version: defaultReleaseVersion(sourceCommit), from: "commit" };
}
