import assert from "node:assert/strict";
import { createGitHub } from "../../lib/github/client.ts";
import { listAll, MalformedAnswer, MAX_PAGES } from "../../lib/github/list.ts";

/** A server answering every list request with one item and the `next` link `next(url)` makes. */
async function withPages(
  next: (url: URL, other: string) => string,
  fn: (url: string, seen: { api: string[]; other: string[] }) => Promise<void>,
) {
  const seen = { api: [] as string[], other: [] as string[] };
  const other = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    seen.other.push(`${request.url} ${request.headers.get("authorization")}`);
    return Response.json({ runners: [] });
  });
  const otherUrl = `http://127.0.0.1:${other.addr.port}`;
  const api = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const url = new URL(request.url);
    seen.api.push(url.pathname + url.search);
    const link = next(url, otherUrl);
    return Response.json({ runners: [{ id: seen.api.length }] }, {
      headers: link ? { link: `<${link}>; rel="next"` } : {},
    });
  });
  try {
    await fn(`http://127.0.0.1:${api.addr.port}`, seen);
  } finally {
    await api.shutdown();
    await other.shutdown();
  }
}

const list = (url: string) =>
  listAll(
    createGitHub(url, { kind: "token", token: "ghp_" + "P".repeat(36) }),
    "GET /repos/{owner}/{repo}/actions/runners",
    { owner: "acme", repo: "api" },
    "runners",
  );

Deno.test("faults: a next link to the same page ends the listing instead of looping", async () => {
  await withPages((url) => url.href, async (url, seen) => {
    await assert.rejects(
      list(url),
      (e: unknown) =>
        e instanceof MalformedAnswer && /page 1\) links to a page already read/.test(String(e)),
    );
    assert.equal(seen.api.length, 1);
  });
});

Deno.test("faults: a next link to another origin is followed on the API's own; the token stays home", async () => {
  await withPages((url, other) => {
    const page = Number(url.searchParams.get("page") ?? "1");
    return page < 3 ? `${other}${url.pathname}?page=${page + 1}` : "";
  }, async (url, seen) => {
    const items = await list(url);
    assert.equal(items.length, 3);
    assert.deepEqual(seen.other, []);
    assert.deepEqual(seen.api.slice(1), [
      "/repos/acme/api/actions/runners?page=2",
      "/repos/acme/api/actions/runners?page=3",
    ]);
  });
});

Deno.test("faults: pages without end stop at the page cap", async () => {
  await withPages((url) => {
    const page = Number(url.searchParams.get("page") ?? "1");
    return `${url.origin}${url.pathname}?per_page=100&page=${page + 1}`;
  }, async (url, seen) => {
    await assert.rejects(
      list(url),
      (e: unknown) =>
        e instanceof MalformedAnswer && String(e).includes(`more than ${MAX_PAGES} pages`),
    );
    assert.equal(seen.api.length, MAX_PAGES);
  });
});
