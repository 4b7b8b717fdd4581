/**
 * A local GitHub REST API for tests, on 127.0.0.1: it validates every request
 * against GitHub's OpenAPI description (`@octokit/openapi`), answers in the
 * description's response shapes, and records every violation. Stateful for
 * pull request comments, check runs and their annotations, workflow runs and
 * their artifacts, releases and their assets.
 */
export { startGitHubTestServer, type GitHubTestServer, type GitHubTestServerOptions, type RecordedRequest, type Violation, type ViolationKind } from "./server.js";
export {
  GitHubState,
  githubAssetName,
  isoSeconds,
  zipFiles,
  type Actor,
  type AnnotationRecord,
  type ArtifactRecord,
  type CheckRunRecord,
  type CommentRecord,
  type PullRequestRecord,
  type ReleaseAssetRecord,
  type ReleaseRecord,
  type SeedPullRequest,
  type SeedRelease,
  type SeedReleaseAsset,
  type RepositoryState,
  type SeedArtifact,
  type SeedWorkflowRun,
  type WorkflowRunRecord,
} from "./state.js";
export { descriptionPath, loadDescription, type OpenApiDocument } from "./description.js";
export { toJsonSchema } from "./json-schema.js";
