import assert from "node:assert/strict";
import { asX64Host } from "../helpers/cli.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

Deno.test("doctor: everything needed passes against the simulator with a Docker engine", async () => {
  await withSimulator(async (sim) => {
    const { code, stdout, stderr } = await asX64Host(["doctor", "--api-url", sim.url], {
      GH_TOKEN: TOKEN,
    });
    assert.equal(code, 0, stdout + stderr);
    for (
      const line of [
        "[ ok ] Architecture: x64",
        "[ ok ] Token: from GH_TOKEN",
        `[ ok ] API: ${sim.url} answers`,
        "[ ok ] Token scopes: repo, workflow",
        "[ ok ] Rate limit: 5000 of 5000 left this hour",
        "[ ok ] Clock: within 60 s of GitHub's",
        "[ ok ] Docker: engine 20.10.24",
        "[ ok ] Runner image: ghcr.io/actions/actions-runner:2.332.0 is present",
        "[info] Service: not installed",
        "Ready to run.",
      ]
    ) {
      assert.ok(stdout.includes(`${line}\n`), `${line}\n${stdout}`);
    }
    assert.deepEqual(sim.log.map((r) => [r.url, r.counted]), [["/rate_limit", false]]);
  }, { scopes: "repo, workflow" });
});

Deno.test("doctor: no Docker engine fails with the fix", async () => {
  await withSimulator(async (sim) => {
    const { code, stdout } = await asX64Host(
      ["doctor", "--api-url", sim.url],
      { GH_TOKEN: TOKEN },
      {
        docker:
          'echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2\nexit 1',
      },
    );
    assert.equal(code, 1);
    assert.match(
      stdout,
      /^\[FAIL\] Docker: no engine answers \(docker exited with code 1: Cannot connect/m,
    );
    assert.match(stdout, /^ {7}fix: install and start Docker/m);
    assert.match(stdout, /^1 check\(s\) failed\.$/m);
  });
});

Deno.test("doctor: a revoked token fails and says how to get a new one", async () => {
  await withSimulator(async (sim) => {
    sim.revoke(TOKEN);
    const { code, stdout } = await asX64Host(["doctor", "--api-url", sim.url], { GH_TOKEN: TOKEN });
    assert.equal(code, 1);
    assert.match(
      stdout,
      /^\[FAIL\] Token valid: GitHub rejects it \(401\): revoked, expired or mistyped$/m,
    );
    assert.match(stdout, /^ {7}fix: gh auth login/m);
    assert.ok(!stdout.includes(TOKEN));
  });
});

Deno.test("doctor: a classic token without the repo scope fails", async () => {
  await withSimulator(async (sim) => {
    const { code, stdout } = await asX64Host(["doctor", "--api-url", sim.url], { GH_TOKEN: TOKEN });
    assert.equal(code, 1);
    assert.match(stdout, /^\[FAIL\] Token scopes: read:org, without repo$/m);
  }, { scopes: "read:org" });
});

Deno.test("doctor: no token at all", async () => {
  await withSimulator(async (sim) => {
    const { code, stdout } = await asX64Host(["doctor", "--api-url", sim.url]);
    assert.equal(code, 1);
    assert.match(stdout, /^\[FAIL\] Token: No GitHub token/m);
    assert.equal(sim.log.length, 0);
  });
});
