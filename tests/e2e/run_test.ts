import assert from "node:assert/strict";
import { asX64Host, spawnCli } from "../helpers/cli.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

Deno.test("run --once --dry-run tells the cycle's story and starts nothing", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("acme/api", { org: true });
    sim.world.addRepo("acme/arm", { org: true });
    sim.world.addRun("acme/api", {
      name: "CI",
      jobs: [
        { name: "a", labels: ["self-hosted"] },
        { name: "b", labels: ["self-hosted", "linux"] },
        { name: "hosted", labels: ["ubuntu-latest"] },
      ],
    });
    sim.world.addRun("acme/arm", {
      name: "arm64 build",
      jobs: [{ name: "x", labels: ["self-hosted"] }],
    });
    const { code, stdout, stderr } = await asX64Host(
      ["run", "--once", "--dry-run", "--api-url", sim.url, "--max-runners", "4"],
      { GH_TOKEN: TOKEN },
    );
    assert.equal(code, 0, stderr);
    assert.equal(stdout, "");
    const lines = stderr.trim().split("\n").map((line) => line.replace(/^\[[\d :-]+\] /, ""));
    assert.deepEqual(lines, [
      "INFO: Auto-scaler configured: x64 host, labels self-hosted,linux,x64,cpu-only, at most 4 runners (0.5 CPUs, 3574 MiB each), every 60 s, dry run",
      "INFO: Found 2 repos with 4 queued jobs",
      "INFO: Filtered 2 incompatible jobs for x64",
      "INFO: Dry run: would start 2 cpu runner(s) for acme/api with labels self-hosted,linux,x64,cpu-only",
      "INFO: Runners of ours: 0 (0 starting, 0 idle, 0 busy); 0 started and 0 removed this cycle; 0 jobs waiting",
      "INFO: Stopped",
    ]);
    assert.ok(sim.log.every((r) => r.method === "GET"), "a dry run changes nothing on GitHub");
  });
});

Deno.test("run --log-format json logs one JSON object a line", async () => {
  await withSimulator(async (sim) => {
    const { code, stderr } = await asX64Host(
      ["run", "--once", "--dry-run", "--api-url", sim.url, "--log-format", "json"],
      { GH_TOKEN: TOKEN },
    );
    assert.equal(code, 0, stderr);
    const records = stderr.trim().split("\n").map((line) => JSON.parse(line));
    assert.equal(records[1].message, "Found 0 repos with 0 queued jobs");
    assert.deepEqual(records[1].properties, { repos: 0, jobs: 0 });
    assert.ok(records.every((r) => r.level === "INFO"));
  });
});

Deno.test("run --once with a rejected token logs it and exits 1", async () => {
  await withSimulator(async (sim) => {
    const { code, stderr } = await asX64Host(
      ["run", "--once", "--dry-run", "--api-url", sim.url],
      { GH_TOKEN: "ghp_" + "W".repeat(36) },
    );
    assert.equal(code, 1);
    assert.match(stderr, /ERROR: GitHub rejected the token \(401 Bad credentials\)/);
    assert.ok(!stderr.includes("W".repeat(36)));
  });
});

Deno.test("the daemon logs a failing cycle and carries on, then stops on SIGTERM", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("acme/api", { org: true });
    sim.faults.push({ path: /^\/user\/repos$/, status: 500, body: "boom", times: 1 });
    const daemon = await spawnCli(
      ["run", "--dry-run", "--interval", "0.5", "--api-url", sim.url],
      { env: { GH_TOKEN: TOKEN } },
    );
    try {
      await daemon.waitFor(/INFO: Found 1 repos with 0 queued jobs/);
    } finally {
      assert.equal(await daemon.stop(), 0, daemon.log());
    }
    assert.match(daemon.log(), /ERROR: Cycle 1 failed: GET \/user\/repos answered 500: boom\n/);
    assert.match(daemon.log(), /INFO: Stopped\n$/);
  });
});

Deno.test("with --network host the daemon warns that jobs reach its listeners; with bridge not", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("acme/api", { org: true });
    for (const network of ["host", "bridge"]) {
      const { code, stderr } = await asX64Host(
        [
          "run",
          "--once",
          "--api-url",
          sim.url,
          "--network",
          network,
          "--metrics-listen",
          "127.0.0.1:0",
        ],
        { GH_TOKEN: TOKEN },
      );
      assert.equal(code, 0, stderr);
      const warned =
        /WARNING: With --network host, jobs reach this host's network services, this daemon's listeners \(127\.0\.0\.1:0\) among them/
          .test(stderr);
      assert.equal(warned, network === "host", stderr);
    }
  });
});
