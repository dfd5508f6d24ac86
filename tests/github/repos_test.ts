import assert from "node:assert/strict";
import { createGitHub } from "../../lib/github/client.ts";
import { AuthError } from "../../lib/github/errors.ts";
import { listRepositories } from "../../lib/github/repos.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

const DAY = 86_400_000;
/** The real now of this test, from which its repositories' push times are counted back. */
const NOW = new Date();
const ago = (days: number) => new Date(NOW.getTime() - days * DAY).toISOString();

Deno.test("repositories: every reachable one by default, archived and stale ones left out", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("org/a", { org: true, pushedAt: ago(0.5) });
    sim.world.addRepo("org/old", { org: true, pushedAt: ago(3) });
    sim.world.addRepo("org/archived", { org: true, archived: true });
    sim.world.addRepo("me/dots", { pushedAt: ago(0.1) });
    const github = createGitHub(sim.url, { kind: "token", token: TOKEN });
    const select = (sinceDays: number) => ({ owners: [], repos: [], sinceDays, app: false });
    assert.deepEqual(await listRepositories(github, select(1), NOW), ["me/dots", "org/a"]);
    assert.deepEqual(await listRepositories(github, select(7), NOW), [
      "me/dots",
      "org/a",
      "org/old",
    ]);
    assert.deepEqual(await listRepositories(github, select(0), NOW), [
      "me/dots",
      "org/a",
      "org/old",
    ]);
  });
});

Deno.test("repositories: --owner takes an org's or a user's, --repo always counts", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("org/a", { org: true });
    sim.world.addRepo("other-org/x", { org: true });
    sim.world.addRepo("me/dots");
    sim.world.addRepo("me/old", { pushedAt: ago(40) });
    const github = createGitHub(sim.url, { kind: "token", token: TOKEN });
    assert.deepEqual(
      await listRepositories(github, {
        owners: ["org", "ME"],
        repos: ["me/old"],
        sinceDays: 1,
        app: false,
      }, NOW),
      ["me/dots", "me/old", "org/a"],
    );
    assert.ok(sim.requests(/^\/orgs\/org\/repos$/).length === 1);
    assert.deepEqual(
      sim.requests(/^\/orgs\/ME\/repos$/).map((r) => r.status),
      [404],
      "a user is tried as an organization first",
    );
    assert.deepEqual(
      await listRepositories(github, { owners: [], repos: ["a/b"], sinceDays: 1, app: false }, NOW),
      ["a/b"],
    );
  });
});

Deno.test("repositories: more than 100 are paginated", async () => {
  await withSimulator(async (sim) => {
    for (let i = 0; i < 230; i++) {
      sim.world.addRepo(`big/r${String(i).padStart(3, "0")}`, { org: true });
    }
    const github = createGitHub(sim.url, { kind: "token", token: TOKEN });
    const repos = await listRepositories(github, {
      owners: ["big"],
      repos: [],
      sinceDays: 1,
      app: false,
    }, NOW);
    assert.equal(repos.length, 230);
    assert.equal(sim.requests(/^\/orgs\/big\/repos$/).length, 3);
  });
});

Deno.test("repositories: a bad token is an AuthError saying how to fix it", async () => {
  await withSimulator(async (sim) => {
    const github = createGitHub(sim.url, { kind: "token", token: "ghp_wrong" });
    await assert.rejects(
      listRepositories(github, { owners: [], repos: [], sinceDays: 1, app: false }, NOW),
      (error: unknown) =>
        error instanceof AuthError && /401 Bad credentials/.test(error.message) &&
        /gh auth login/.test(error.message),
    );
  });
});
