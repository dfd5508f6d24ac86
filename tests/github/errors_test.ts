import assert from "node:assert/strict";
import { Octokit } from "@octokit/rest";
import { describeError } from "../../lib/github/errors.ts";

Deno.test("a request cut short by SIGTERM is described by its reason, not as a GET of nothing", async () => {
  const stop = new AbortController();
  stop.abort(new DOMException("Stopped by SIGTERM", "AbortError"));
  const github = new Octokit({ request: { signal: stop.signal } });
  const error = await github.request("DELETE /repos/{owner}/{repo}/actions/runners/{id}", {
    owner: "acme",
    repo: "app",
    id: 1,
    baseUrl: "http://127.0.0.1:9",
  }).then(() => null, (e) => e);
  assert.equal(describeError(error), "Stopped by SIGTERM");
});
