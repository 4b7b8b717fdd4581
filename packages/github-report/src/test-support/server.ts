/** A GitHub test server and an octokit pointed at it, for one test file. */
import { startGitHubTestServer, type GitHubTestServer } from "@slmops/github-test-server";
import { afterAll, beforeAll } from "vitest";
import { createGitHubClient, type GitHubClient } from "../client.js";

export const TOKEN = "test-token";

export interface Harness {
  server: GitHubTestServer;
  client: GitHubClient;
}

/** Starts a server before the file's tests and closes it after. */
export function useGitHubServer(): Harness {
  const harness = {} as Harness;
  beforeAll(async () => {
    harness.server = await startGitHubTestServer({ token: TOKEN });
    harness.client = createGitHubClient({ token: TOKEN, baseUrl: harness.server.url });
  });
  afterAll(async () => {
    await harness.server.close();
  });
  return harness;
}
