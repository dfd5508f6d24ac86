import assert from "node:assert/strict";
import { cliCommand, runCli } from "../helpers/cli.ts";
import { makeFakeBin } from "../helpers/fake_bin.ts";
import { fixture } from "../helpers/fixtures.ts";
import { makeRoot } from "../helpers/roots.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

Deno.test("faults: a second daemon beside a running one refuses to start and says who runs", async () => {
  await withSimulator(async (sim) => {
    const root = await makeRoot({
      "proc/cpuinfo": await fixture("cpuinfo/x86_64_amd_epyc_9654_head.txt"),
      "proc/meminfo": await fixture("cpuinfo/meminfo_x86_64_16GB.txt"),
    });
    const bin = await makeFakeBin({
      "nvidia-smi": "exit 127",
      rocminfo: "exit 127",
      docker: 'case "$1" in ps) ;; *) echo 20.10.24 ;; esac',
    });
    const state = await Deno.makeTempDir();
    const env = { GH_TOKEN: TOKEN, XDG_STATE_HOME: state };
    const args = ["run", "--api-url", sim.url, "--interval", "3600", "--root", root];
    const first = (await cliCommand(args, { pathPrefix: bin, env })).spawn();
    first.stdout.cancel();
    let firstLog = "";
    const reading = (async () => {
      for await (const chunk of first.stderr) firstLog += new TextDecoder().decode(chunk);
    })();
    try {
      const deadline = Date.now() + 15_000;
      while (!firstLog.includes("Found 0 repos")) {
        if (Date.now() > deadline) throw new Error(`the first daemon did not cycle:\n${firstLog}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const second = await runCli([...args, "--once"], { pathPrefix: bin, env });
      assert.equal(second.code, 1, second.stderr);
      assert.match(
        second.stderr,
        new RegExp(
          `Another autoscaler daemon \\(PID ${first.pid}\\) already runs with the state directory`,
        ),
      );
      assert.equal(
        sim.requests(/^\/user\/repos$/).length,
        1,
        "the second one asked GitHub nothing",
      );
      first.kill("SIGTERM");
      assert.equal((await first.status).code, 0, firstLog);
      // Once the first has stopped, the lock is free again.
      const after = await runCli([...args, "--once"], { pathPrefix: bin, env });
      assert.equal(after.code, 0, after.stderr);
    } finally {
      try {
        first.kill("SIGTERM");
      } catch { /* already stopped */ }
      await first.status;
      await reading;
      for (const dir of [root, bin, state]) await Deno.remove(dir, { recursive: true });
    }
  });
});
