import type { GitHub } from "./client.ts";

/** GitHub answered a list request with something that is not the expected list. */
export class MalformedAnswer extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedAnswer";
  }
}

/** The most pages one listing reads (100,000 items); more is a server gone wrong. */
export const MAX_PAGES = 1000;

/**
 * Every item of a paginated list endpoint, following `link: rel="next"`: always on the API's own
 * origin and scheme (the token goes with each request; a link elsewhere is taken for its path),
 * never to a page already read, and for at most `MAX_PAGES` pages; a `next` that breaks one of
 * these throws `MalformedAnswer`. `key` names the array
 * inside the answer object (`workflow_runs`, `jobs`...), or null for endpoints that answer with
 * a bare array. An answer that is not JSON or lacks the list throws `MalformedAnswer` naming the
 * request, instead of a confusing type error deep inside a client library.
 */
export async function listAll(
  github: GitHub,
  route: string,
  params: Record<string, string | number>,
  key: string | null,
): Promise<unknown[]> {
  const items: unknown[] = [];
  const origin = new URL(github.request.endpoint.DEFAULTS.baseUrl).origin;
  const read = new Set<string>();
  let response = await github.request(route, { ...params, per_page: 100 });
  for (let page = 1;; page++) {
    read.add(new URL(response.url, origin).href);
    const data: unknown = response.data;
    const list = key === null ? data : (data as Record<string, unknown> | null)?.[key];
    if (!Array.isArray(list)) {
      // Octokit hands back the text of a JSON answer it cannot parse, "" when it broke off.
      const what = data === ""
        ? "an empty body (or the connection broke off)"
        : typeof data === "string"
        ? "a body that is not JSON"
        : `no ${key ?? "list"}`;
      throw new MalformedAnswer(`${route} (page ${page}) answered with ${what}`);
    }
    items.push(...list);
    const next = String(response.headers.link ?? "").match(/<([^>]+)>;\s*rel="next"/)?.[1];
    if (!next) return items;
    // Followed on the API's own origin only: the token goes with the request. A GitHub Enterprise
    // Server reached by another name (an IP) links pages under its canonical name; same path.
    const linked = new URL(next, origin);
    const nextUrl = new URL(`${linked.pathname}${linked.search}`, origin);
    if (read.has(nextUrl.href)) {
      throw new MalformedAnswer(`${route} (page ${page}) links to a page already read`);
    }
    if (page >= MAX_PAGES) {
      throw new MalformedAnswer(`${route} has more than ${MAX_PAGES} pages`);
    }
    response = await github.request({ method: "GET", url: nextUrl.href });
  }
}
