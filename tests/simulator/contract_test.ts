import assert from "node:assert/strict";
import { Ajv } from "ajv";
import { createGitHub } from "../../lib/github/client.ts";
import { makeAppKey } from "../helpers/app_key.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

// GitHub's published OpenAPI description (3.0), loaded at run time so type-checking skips it.
const SPEC_MODULE = "@octokit/openapi/generated/api.github.com.json";
const spec = (await import(SPEC_MODULE, { with: { type: "json" } })).default;

/** OpenAPI 3.0's `nullable` in JSON Schema terms, which Ajv validates. */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (node === null || typeof node !== "object") return node;
  const { nullable, ...rest } = node as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest)) {
    out[key] = key === "$ref" && typeof value === "string"
      ? value.replace("#/components/schemas/", "gh#/components/schemas/")
      : toJsonSchema(value);
  }
  if (nullable !== true) return out;
  if (typeof out.type === "string") {
    const nullableType: Record<string, unknown> = { ...out, type: [out.type, "null"] };
    if (Array.isArray(out.enum)) nullableType.enum = [...out.enum, null];
    return nullableType;
  }
  return { anyOf: [out, { type: "null" }] };
}

const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema({ components: toJsonSchema(spec.components) }, "gh");

/** The status and schema of an operation's success answer; a null schema means no body. */
function responseSchema(route: string): { status: number; schema: unknown } {
  const [method, path] = route.split(" ") as [string, string];
  const responses = spec.paths[path]?.[method.toLowerCase()]?.responses;
  assert.ok(responses, `GitHub's description has no ${route}`);
  const status = Number(["200", "201", "204"].find((code) => responses[code]));
  let response = responses[String(status)];
  if (response.$ref) response = spec.components.responses[response.$ref.split("/").at(-1)];
  const schema = response.content?.["application/json"]?.schema ?? null;
  assert.ok(schema || status === 204, `no JSON schema for ${route} ${status}`);
  return { status, schema: schema && toJsonSchema(schema) };
}

/** A request to make for each route, with the world set up below. */
const REQUESTS: Record<string, { path: string; body?: Record<string, unknown> }> = {
  "GET /rate_limit": { path: "/rate_limit" },
  "GET /repos/{owner}/{repo}/releases": { path: "/repos/org/app/releases" },
  "GET /repos/{owner}/{repo}/releases/latest": { path: "/repos/org/app/releases/latest" },
  "GET /repos/{owner}/{repo}/releases/tags/{tag}": { path: "/repos/org/app/releases/tags/v1.0.0" },
  "GET /repos/{owner}/{repo}/releases/assets/{asset_id}": {
    path: "/repos/org/app/releases/assets/{asset}",
  },
  "GET /user/repos": { path: "/user/repos" },
  "GET /orgs/{org}/repos": { path: "/orgs/org/repos" },
  "GET /users/{username}/repos": { path: "/users/someone/repos" },
  "GET /installation/repositories": { path: "/installation/repositories" },
  "GET /repos/{owner}/{repo}/actions/runs": {
    path: "/repos/org/app/actions/runs?status=in_progress",
  },
  "GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs": {
    path: "/repos/org/app/actions/runs/{run}/jobs",
  },
  "GET /repos/{owner}/{repo}/actions/runners": { path: "/repos/org/app/actions/runners" },
  "GET /orgs/{org}/actions/runners": { path: "/orgs/org/actions/runners" },
  "POST /app/installations/{installation_id}/access_tokens": {
    path: "/app/installations/7/access_tokens",
  },
  "POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig": {
    path: "/repos/org/app/actions/runners/generate-jitconfig",
    body: {
      name: "jit-1",
      runner_group_id: 1,
      labels: ["self-hosted", "x64"],
      work_folder: "_work",
    },
  },
  "POST /orgs/{org}/actions/runners/generate-jitconfig": {
    path: "/orgs/org/actions/runners/generate-jitconfig",
    body: { name: "jit-2", runner_group_id: 1, labels: ["self-hosted"] },
  },
  "POST /repos/{owner}/{repo}/actions/runners/registration-token": {
    path: "/repos/org/app/actions/runners/registration-token",
  },
  "POST /orgs/{org}/actions/runners/registration-token": {
    path: "/orgs/org/actions/runners/registration-token",
  },
  "DELETE /repos/{owner}/{repo}/actions/runners/{runner_id}": {
    path: "/repos/org/app/actions/runners/{jit-1}",
  },
  "DELETE /orgs/{org}/actions/runners/{runner_id}": { path: "/orgs/org/actions/runners/{jit-2}" },
};

Deno.test("every answer the simulator serves matches GitHub's OpenAPI description", async () => {
  const key = await makeAppKey();
  await withSimulator(async (sim) => {
    assert.deepEqual(
      Object.keys(REQUESTS).sort(),
      [...sim.routes].sort(),
      "every route is covered",
    );
    sim.world.addRepo("org/app", { org: true });
    sim.world.addRepo("someone/public", { private: false });
    const { run } = sim.world.addRun("org/app", {
      name: "CI",
      jobs: [
        { name: "done", labels: ["self-hosted"], status: "completed" },
        { name: "waiting", labels: ["self-hosted", "gpu"] },
        { name: "running", labels: ["self-hosted"] },
      ],
    });
    sim.world.addRunner("org/app", {
      name: "r1",
      labels: ["self-hosted", "linux", "x64", "gpu"],
      status: "online",
    });
    sim.world.addRunner("org", { name: "r2", labels: ["self-hosted"], status: "offline" });
    sim.world.dispatch();
    const release = sim.world.addRelease("org/app", "v1.0.0", { "autoscaler-linux-x64": "bin" });
    const app = createGitHub(sim.url, {
      kind: "app",
      appId: 42,
      privateKey: key.privateKeyPem,
      installationId: 7,
    });
    const token = createGitHub(sim.url, { kind: "token", token: TOKEN });
    for (const [route, { path, body }] of Object.entries(REQUESTS)) {
      const [method] = route.split(" ");
      const url = path.replace("{run}", String(run.id))
        .replace("{asset}", String(release.assets[0]!.id)).replace(
          /\{(jit-\d)\}/,
          (_, name) => String(sim.world.runners.find((r) => r.name === name)?.id),
        );
      // The App client signs /app/ requests with its JWT and the rest with an installation token.
      const client = route.includes(" /installation") || route.includes(" /app/") ? app : token;
      const response = await client.request(`${method} ${url}`, body ?? {});
      const { status, schema } = responseSchema(route);
      assert.equal(response.status, status, route);
      if (schema === null) {
        assert.equal(response.data, "", `${route} answers without a body`);
        continue;
      }
      const valid = ajv.validate(schema as object, response.data);
      assert.ok(valid, `${route}: ${ajv.errorsText(ajv.errors, { separator: "\n" })}`);
      const text = JSON.stringify(response.data);
      assert.ok(text.length > 2 && text !== "[]", `${route} answered with an empty list`);
    }
  }, { app: { id: 42, publicKey: key.publicKey, installations: { 7: ["org/app"] } } });
});

Deno.test("the simulator pages with link headers and answers If-None-Match with 304", async () => {
  await withSimulator(async (sim) => {
    for (let i = 0; i < 5; i++) sim.world.addRepo(`org/r${i}`, { org: true });
    const first = await fetch(`${sim.url}/orgs/org/repos?per_page=2`, {
      headers: { authorization: `token ${TOKEN}` },
    });
    const etag = first.headers.get("etag")!;
    assert.equal((await first.json()).length, 2);
    assert.match(first.headers.get("link")!, /[?&]page=2>; rel="next".*[?&]page=3>; rel="last"/);
    assert.equal(first.headers.get("x-ratelimit-remaining"), "4999");
    const again = await fetch(`${sim.url}/orgs/org/repos?per_page=2`, {
      headers: { authorization: `token ${TOKEN}`, "if-none-match": etag },
    });
    assert.equal(again.status, 304);
    await again.body?.cancel();
    assert.equal(again.headers.get("x-ratelimit-remaining"), "4999", "a 304 costs nothing");
    assert.deepEqual(sim.log.map((r) => [r.status, r.counted]), [[200, true], [304, false]]);
    const reset = Number(first.headers.get("x-ratelimit-reset"));
    assert.ok(reset * 1000 > sim.world.now().getTime());
  });
});
