import type { GitHub } from "./client.ts";

/** GitHub answered a list request with something that is not the expected list. */
export class MalformedAnswer extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedAnswer";
  }
}

/**
 * Every item of a paginated list endpoint, following `link: rel="next"`. `key` names the array
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
  let response = await github.request(route, { ...params, per_page: 100 });
  for (let page = 1;; page++) {
    const data: unknown = response.data;
    const list = key === null ? data : (data as Record<string, unknown> | null)?.[key];
    if (!Array.isArray(list)) {
      const what = typeof data === "string" ? "a body that is not JSON" : `no ${key ?? "list"}`;
      throw new MalformedAnswer(`${route} (page ${page}) answered with ${what}`);
    }
    items.push(...list);
    const next = String(response.headers.link ?? "").match(/<([^>]+)>;\s*rel="next"/)?.[1];
    if (!next) return items;
    response = await github.request({ method: "GET", url: next });
  }
}
