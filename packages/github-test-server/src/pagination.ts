/** GitHub-style pagination: `per_page` (default 30, at most 100), `page`, and a `Link` header. */

export interface Page<T> {
  readonly items: T[];
  /** The `Link` header value, when there is more than one page. */
  readonly link?: string;
}

/** One page of `all` for the request URL, with GitHub's `Link` relations. */
export function paginate<T>(all: readonly T[], url: URL, params: Readonly<Record<string, unknown>>): Page<T> {
  const perPage = Math.min(100, Math.max(1, typeof params.per_page === "number" ? params.per_page : 30));
  const page = Math.max(1, typeof params.page === "number" ? params.page : 1);
  const last = Math.max(1, Math.ceil(all.length / perPage));
  const items = all.slice((page - 1) * perPage, page * perPage);
  if (last === 1) return { items };
  const at = (n: number): string => {
    const u = new URL(url.href);
    u.searchParams.set("per_page", String(perPage));
    u.searchParams.set("page", String(n));
    return u.href;
  };
  const rels: string[] = [];
  if (page < last) rels.push(`<${at(page + 1)}>; rel="next"`, `<${at(last)}>; rel="last"`);
  if (page > 1) rels.push(`<${at(1)}>; rel="first"`, `<${at(Math.min(page - 1, last))}>; rel="prev"`);
  return { items, link: rels.join(", ") };
}
