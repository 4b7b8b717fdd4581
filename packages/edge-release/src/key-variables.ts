/**
 * Where the release job finds its signing keys: one environment variable
 * (and repository secret) per role. A light module of its own, so a command
 * line can name the variables without loading the repository code.
 */
export type KeyRole = "root" | "targets" | "rollout" | "snapshot" | "timestamp";

/** The release repository's roles, in the order they are listed to people. */
export const RELEASE_ROLES: readonly KeyRole[] = ["root", "targets", "rollout", "snapshot", "timestamp"];

/** The environment variable (and repository secret) that holds a role's private key. */
export function roleKeyVariable(role: KeyRole): string {
  return `SLMOPS_${role.toUpperCase()}_KEY`;
}
