import assert from "node:assert/strict";
import { join } from "node:path";
import { sign } from "@octokit/webhooks-methods";
import { cliCommand, spawnCli } from "../helpers/cli.ts";
import { SimWorld } from "../../lib/simulator/world.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

const decoder = new TextDecoder();

/** A dry-run daemon whose log is read as it comes, with helpers to wait for lines in it. */
async function daemon(args: string[]) {
  const running = await spawnCli(["run", "--dry-run", ...args], { env: { GH_TOKEN: TOKEN } });
  return {
    get log() {
      return running.log();
    },
    waitFor: running.waitFor,
    stop: running.stop,
  };
}

/**
 * A dry-run daemon receiving webhooks (secret `webhook-secret`) against `apiUrl`, polling every
 * `interval` s; `post` sends a signed queued `workflow_job` event and returns its status.
 */
async function webhookDaemon(apiUrl: string, interval: string) {
  const dir = await Deno.makeTempDir();
  const secretFile = join(dir, "secret");
  await Deno.writeTextFile(secretFile, "webhook-secret\n");
  const d = await daemon([
    "--api-url",
    apiUrl,
    "--interval",
    interval,
    "--webhook-listen",
    "127.0.0.1:0",
    "--webhook-secret-file",
    secretFile,
  ]);
  const port = (await d.waitFor(/Receiving webhooks on 127\.0\.0\.1:(\d+)/))[1];
  const body = JSON.stringify({ action: "queued", workflow_job: { id: 1 } });
  return {
    d,
    async post(signed = true): Promise<number> {
      const response = await fetch(`http://127.0.0.1:${port}/`, {
        method: "POST",
        headers: {
          "x-github-event": "workflow_job",
          ...(signed ? { "x-hub-signature-256": await sign("webhook-secret", body) } : {}),
        },
        body,
      });
      await response.body?.cancel();
      return response.status;
    },
    async stop(): Promise<number> {
      const code = await d.stop();
      await Deno.remove(dir, { recursive: true });
      return code;
    },
  };
}

Deno.test("a signed queued webhook makes the daemon look at once, not at the next poll", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("acme/app", { org: true });
    const w = await webhookDaemon(sim.url, "3600");
    try {
      await w.d.waitFor(/Found 1 repos with 0 queued jobs/);
      sim.world.addRun("acme/app", { name: "CI", jobs: [{ name: "j", labels: ["self-hosted"] }] });
      assert.equal(await w.post(false), 401);
      assert.equal(await w.post(), 202);
      await w.d.waitFor(/Dry run: would start 1 cpu runner\(s\) for acme\/app/, 10);
    } finally {
      assert.equal(await w.stop(), 0, w.d.log);
    }
  });
});

Deno.test("/metrics tells a scenario's figures and /healthz is 200 after a good cycle", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("acme/app", { org: true });
    sim.world.addRun("acme/app", {
      name: "CI",
      jobs: [
        { name: "a", labels: ["self-hosted"] },
        { name: "b", labels: ["self-hosted"] },
        { name: "hosted", labels: ["ubuntu-latest"] },
      ],
    });
    const d = await daemon([
      "--api-url",
      sim.url,
      "--interval",
      "1",
      "--max-runners",
      "1",
      "--metrics-listen",
      "127.0.0.1:0",
    ]);
    try {
      const port = (await d.waitFor(/Serving metrics on 127\.0\.0\.1:(\d+)/))[1];
      await d.waitFor(/Found 1 repos with 3 queued jobs[\s\S]*Found 1 repos with 3 queued jobs/);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal([health.status, await health.text()].join(" "), "200 ok\n");
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      for (
        const line of [
          'autoscaler_queued_jobs{decision="provision"} 1',
          'autoscaler_queued_jobs{decision="wait"} 1',
          'autoscaler_queued_jobs{decision="skip"} 1',
          'autoscaler_runners{state="busy"} 0',
          'autoscaler_cycles_total{outcome="ok"}',
          'autoscaler_api_requests_total{status="200"}',
          'autoscaler_api_requests_total{status="304"}',
          "autoscaler_rate_limit_remaining ",
          "autoscaler_cycle_duration_seconds_count",
          "autoscaler_job_queued_to_runner_started_seconds_count 0",
        ]
      ) {
        assert.ok(metrics.includes(line), `${line} in\n${metrics}`);
      }
    } finally {
      assert.equal(await d.stop(), 0, d.log);
    }
  });
});

Deno.test("with little rate limit left the daemon stretches its interval and says so", async () => {
  await withSimulator(async (sim) => {
    for (let i = 0; i < 30; i++) sim.world.addRepo(`acme/r${i}`, { org: true });
    const d = await daemon([
      "--api-url",
      sim.url,
      "--interval",
      "1",
      "--no-conditional-requests",
    ]);
    try {
      const [, seconds] = await d.waitFor(
        /Stretching the poll interval to (\d+) s: \d+ requests left until \S+, and a cycle spends 61/,
      );
      // 300 an hour; the first cycle (which also reads 30 runner lists) spent 91 of them, and
      // is not what cycles cost: the second spent 61 (a repository list, 2 run lists each).
      assert.ok(Number(seconds) > 1);
    } finally {
      assert.equal(await d.stop(), 0, d.log);
    }
    // A real clock: the reset the simulator announces is within the hour.
  }, { rateLimit: 300, world: new SimWorld() });
});

Deno.test("the first cycle's cold-cache cost does not stretch the interval of idle cycles", async () => {
  await withSimulator(async (sim) => {
    for (let i = 0; i < 50; i++) sim.world.addRepo(`acme/r${i}`, { org: true });
    const d = await daemon(["--api-url", sim.url, "--interval", "1"]);
    try {
      await d.waitFor(/Found 50 repos/);
      await new Promise((resolve) => setTimeout(resolve, 4000));
      const cycles = sim.requests(/^\/user\/repos$/).length;
      assert.ok(cycles >= 3, `only ${cycles} cycles in 4 s:\n${d.log}`);
      assert.doesNotMatch(d.log, /Stretching/);
    } finally {
      assert.equal(await d.stop(), 0, d.log);
    }
  });
});

Deno.test("--webhook-listen without a secret is refused", async () => {
  const { code, stderr } = await (await cliCommand([
    "run",
    "--webhook-listen",
    "127.0.0.1:0",
  ])).output();
  assert.equal(code, 2);
  assert.match(decoder.decode(stderr), /--webhook-listen needs --webhook-secret-file/);
});

Deno.test("a webhook does not cut the wait for a spent rate limit short", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("acme/app", { org: true });
    const w = await webhookDaemon(sim.url, "1");
    try {
      // One request an hour: the repository list spends it, the next request is refused.
      await w.d.waitFor(/rate limit is spent until \S+; the next cycle waits for it/);
      assert.equal(await w.post(), 202);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal(sim.requests(/^\/user\/repos$/).length, 1, w.d.log);
    } finally {
      assert.equal(await w.stop(), 0, w.d.log);
    }
  }, { rateLimit: 1 });
});
