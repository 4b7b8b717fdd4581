/**
 * The name a target is stored under in a consistent snapshot (TUF 1.0,
 * 5.7.3): its sha256 and a dot before its file name, in its directory.
 */
export function hashPrefixedName(path: string, sha256: string): string {
  const slash = path.lastIndexOf("/");
  return `${path.slice(0, slash + 1)}${sha256}.${path.slice(slash + 1)}`;
}
