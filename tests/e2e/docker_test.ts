import assert from "node:assert/strict";
import { LABEL, MANAGED_BY } from "../../lib/runners/docker.ts";
import type { SimulatorOptions } from "../../lib/simulator/server.ts";
import { cliCommand } from "../helpers/cli.ts";
import {
  containersOf,
  Daemon,
  docker,
  engineTest as engineTestIn,
  type EngineTestBody,
  ours,
  waitFor,
  waitUntilClean,
} from "../helpers/engine_runs.ts";
import { TEST_IMAGE } from "../helpers/runner_image.ts";
import { TOKEN } from "../helpers/sim.ts";

const decoder = new TextDecoder();
/** An engine test named "docker: NAME". */
const engineTest = (name: string, fn: EngineTestBody, options?: SimulatorOptions) =>
  engineTestIn(`docker: ${name}`, fn, options);

engineTest(
  "each compatible job is served once in a hardened container, and nothing is left",
  async (sim, prefix) => {
    sim.world.addRepo("acme/app", { org: true });
    sim.world.addRepo("acme/arm", { org: true });
    const { jobs } = sim.world.addRun("acme/app", {
      name: "CI",
      jobs: [
        { name: "one", labels: ["self-hosted", "linux"] },
        { name: "two", labels: ["self-hosted", "linux"] },
        { name: "three", labels: ["self-hosted"] },
        { name: "gpu", labels: ["self-hosted", "gpu"] },
        { name: "hosted", labels: ["ubuntu-latest"] },
      ],
    });
    const arm = sim.world.addRun("acme/arm", {
      name: "Build",
      path: ".github/workflows/arm64-ci.yml",
      jobs: [{ name: "arm", labels: ["self-hosted"] }],
    });
    // Containers that are not this daemon's: another host's runner, and a plain container.
    const foreign = crypto.randomUUID().slice(0, 6);
    const others = [
      (await docker(
        "run",
        "--detach",
        "--name",
        `other-runner-${foreign}`,
        "--label",
        `${LABEL}.managed-by=${MANAGED_BY}`,
        "--label",
        `${LABEL}.runner-name=autoscaler-elsewhere-${foreign}`,
        "--label",
        `${LABEL}.repo=acme/app`,
        "--label",
        `${LABEL}.created=2020-01-01T00:00:00Z`,
        TEST_IMAGE,
        "sleep",
        "600",
      )).trim(),
      (await docker(
        "run",
        "--detach",
        "--name",
        `plain-${foreign}`,
        TEST_IMAGE,
        "sleep",
        "600",
      ))
        .trim(),
    ];
    const daemon = await Daemon.start(sim, prefix);
    let exit = -1;
    try {
      await waitFor(
        "a running runner container",
        async () => (await containersOf(prefix, false)).length > 0,
      );
      const [id] = await containersOf(prefix, false);
      const [inspected] = JSON.parse(await docker("inspect", id!));
      const host = inspected.HostConfig;
      assert.equal(inspected.Config.User, "1001:1001");
      assert.deepEqual(host.CapDrop, ["ALL"]);
      assert.deepEqual(host.SecurityOpt, ["no-new-privileges"]);
      assert.equal(host.PidsLimit, 4096);
      assert.ok(host.Memory > 0 && host.NanoCpus > 0, "memory and CPU limits");
      assert.equal(host.Init, true);
      assert.equal(host.Privileged, false);
      assert.deepEqual(host.Binds ?? [], []);
      // No host path: only the repository's tool cache, a Docker volume.
      assert.equal(inspected.Mounts.length, 1, JSON.stringify(inspected.Mounts));
      const [mount] = inspected.Mounts;
      assert.equal(mount.Type, "volume");
      assert.equal(mount.Destination, "/opt/hostedtoolcache");
      assert.match(mount.Name, /-cache-acme-app-[0-9a-f]{16}-\d+-tool$/);
      assert.ok(!JSON.stringify(inspected).includes("docker.sock"));
      assert.equal(inspected.Config.Labels[`${LABEL}.repo`], "acme/app");

      // The JIT config is in neither the container's configuration nor PID 1's environment.
      await waitFor("a JIT config handed out", () => sim.jitConfigs.length > 0);
      const environ = await docker("exec", id!, "cat", "/proc/1/environ");
      for (const config of sim.jitConfigs) {
        assert.ok(!JSON.stringify(inspected).includes(config), "a JIT config in docker inspect");
        assert.ok(!environ.includes(config), "a JIT config in PID 1's environment");
      }

      // No JIT config, runner secret or token on any command line while runners run.
      const cmdlines = decoder.decode(
        (await new Deno.Command("sh", {
          args: ["-c", "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '"],
          stdout: "piped",
        }).output()).stdout,
      );
      assert.ok(cmdlines.length > 0);
      for (const config of sim.jitConfigs) {
        assert.ok(!cmdlines.includes(config), "a JIT config is on a command line");
        const secret = atob(config).match(/secret=(\S+)/)?.[1]!;
        assert.ok(!cmdlines.includes(secret), "a runner secret is on a command line");
      }
      assert.ok(!cmdlines.includes(TOKEN), "the token is on a command line");

      const served = jobs.slice(0, 3);
      await waitUntilClean(sim, prefix, served);
    } finally {
      exit = await daemon.stop();
      const states = await docker("inspect", "--format", "{{.State.Status}}", ...others)
        .catch((error) => String(error));
      await docker("rm", "--force", ...others).catch(() => "");
      assert.equal(states, "running\nrunning\n", "containers not ours are left alone");
    }
    assert.equal(exit, 0, daemon.stderr);
    const served = jobs.slice(0, 3);
    assert.deepEqual(served.map((j) => j.conclusion), ["success", "success", "success"]);
    assert.equal(new Set(served.map((j) => j.runnerName)).size, 3, "one runner each");
    assert.ok(served.every((j) => j.runnerName?.startsWith(`${prefix}-`)));
    assert.equal(sim.jitConfigs.length, 3, "exactly one registration per job");
    assert.deepEqual(
      [jobs[3]!.status, jobs[4]!.status, arm.jobs[0]!.status],
      ["queued", "queued", "queued"],
    );
    for (const config of sim.jitConfigs) assert.ok(!daemon.stderr.includes(config));
    assert.ok(!daemon.stderr.includes(TOKEN));
    assert.match(
      daemon.stderr,
      /INFO: Started cpu runner t\w+-[\w-]+ for acme\/app in container/,
    );
    assert.match(
      daemon.stderr,
      /INFO: Removed the container of runner .*: its container exited with code 0/,
    );
    assert.match(daemon.stderr, /INFO: Stopped\n$/);
  },
  { jobSeconds: 2 },
);

engineTest(
  "after kill -9 a restarted daemon adopts its runners and ends clean",
  async (sim, prefix) => {
    sim.world.addRepo("acme/app", { org: true });
    const { jobs } = sim.world.addRun("acme/app", {
      name: "CI",
      jobs: ["a", "b", "c", "d"].map((name) => ({ name, labels: ["self-hosted"] })),
    });
    const first = await Daemon.start(sim, prefix);
    await waitFor(
      "a running runner container",
      async () => (await containersOf(prefix, false)).length > 0,
    );
    await first.stop("SIGKILL");
    assert.ok((await containersOf(prefix)).length > 0, "containers outlive the daemon");
    const second = await Daemon.start(sim, prefix);
    try {
      await waitUntilClean(sim, prefix, jobs);
    } finally {
      assert.equal(await second.stop(), 0, second.stderr);
    }
    assert.ok(jobs.every((j) => j.conclusion === "success"));
    assert.equal(
      new Set(jobs.map((j) => j.runnerName)).size,
      4,
      "each job once, by its own runner",
    );
    // A kill between registering and starting a container may leave one registration, which
    // the restarted daemon deletes; it never starts a second runner for a covered job.
    assert.ok(sim.jitConfigs.length <= 5, `${sim.jitConfigs.length} registrations`);
  },
  { jobSeconds: 2 },
);

engineTest(
  "a job cancelled while its runner starts leaves an idle runner, which is reaped",
  async (sim, prefix) => {
    sim.world.addRepo("acme/app", { org: true });
    const { jobs } = sim.world.addRun("acme/app", {
      name: "CI",
      jobs: [{ name: "soon-cancelled", labels: ["self-hosted"] }],
    });
    sim.holdRunners = true;
    const daemon = await Daemon.start(sim, prefix);
    try {
      await waitFor(
        "the runner online",
        () => ours(sim, prefix).some((r) => r.status === "online"),
      );
      const status = await (await cliCommand(
        ["status", "--json", "--api-url", sim.url, "--name-prefix", prefix],
        { env: { GH_TOKEN: TOKEN } },
      )).output();
      const shown = JSON.parse(decoder.decode(status.stdout));
      assert.equal(shown.runners.length, 1, decoder.decode(status.stderr));
      assert.deepEqual(
        [shown.runners[0].repo, shown.runners[0].state, shown.runners[0].for_job],
        ["acme/app", "idle", jobs[0]!.id],
      );
      assert.equal(shown.runners[0].container.state, "running");
      assert.match(shown.runners[0].name, new RegExp(`^${prefix}-`));
      sim.world.cancelJob(jobs[0]!);
      sim.holdRunners = false;
      await waitUntilClean(sim, prefix, []);
    } finally {
      assert.equal(await daemon.stop(), 0, daemon.stderr);
    }
    assert.match(daemon.stderr, /Removed the container of runner .*: idle for more than 30 s/);
    assert.match(
      daemon.stderr,
      /Deleted the registration of runner .*: idle for more than 30 s/,
    );
    assert.equal(jobs[0]!.conclusion, "cancelled");
  },
);

engineTest(
  "an image that cannot be had is a clear error and registers nothing",
  async (sim, prefix) => {
    sim.world.addRepo("acme/app", { org: true });
    sim.world.addRun("acme/app", {
      name: "CI",
      jobs: [{ name: "j", labels: ["self-hosted"] }],
    });
    // A registry on a closed loopback port: the pull fails at once, and only locally.
    const image = "127.0.0.1:9/autoscaler-missing:1";
    const command = await cliCommand(
      ["run", "--once", "--api-url", sim.url, "--image", image, "--name-prefix", prefix],
      { env: { GH_TOKEN: TOKEN } },
    );
    const output = await command.output();
    const stderr = decoder.decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    assert.match(
      stderr,
      /ERROR: Could not start runners for acme\/app: Cannot pull image "127\.0\.0\.1:9\/autoscaler-missing:1": docker exited with code 1/,
    );
    assert.equal(sim.jitConfigs.length, 0);
    assert.deepEqual(ours(sim, prefix), []);
    assert.deepEqual(await containersOf(prefix), []);
  },
);

engineTest("with --runner-scope org, runners register to the organization", async (sim, prefix) => {
  const jobs = ["acme/one", "acme/two"].flatMap((repo) => {
    sim.world.addRepo(repo, { org: true });
    return sim.world.addRun(repo, {
      name: "CI",
      jobs: [{ name: "j", labels: ["self-hosted"] }],
    })
      .jobs;
  });
  const scopes = new Set<string>();
  const daemon = await Daemon.start(sim, prefix, ["--runner-scope", "org"]);
  try {
    await waitUntilClean(sim, prefix, jobs, () => {
      for (const runner of ours(sim, prefix)) scopes.add(runner.scope);
    });
  } finally {
    assert.equal(await daemon.stop(), 0, daemon.stderr);
  }
  assert.deepEqual([...scopes], ["acme"]);
  assert.ok(sim.requests(/^\/orgs\/acme\/actions\/runners\/generate-jitconfig$/).length >= 2);
  assert.equal(sim.requests(/^\/repos\/.*\/generate-jitconfig$/).length, 0);
}, { jobSeconds: 1 });

engineTest(
  "without JIT (old GitHub Enterprise Server), config.sh registers each runner",
  async (sim, prefix) => {
    sim.world.addRepo("acme/app", { org: true });
    const { jobs } = sim.world.addRun("acme/app", {
      name: "CI",
      jobs: [{ name: "a", labels: ["self-hosted"] }, { name: "b", labels: ["self-hosted"] }],
    });
    // The runners register and wait for work: then no process in their containers, and not
    // their configuration, holds the registration token.
    sim.holdRunners = true;
    const daemon = await Daemon.start(sim, prefix);
    try {
      await waitFor(
        "two runners online",
        () => ours(sim, prefix).filter((r) => r.status === "online").length === 2,
      );
      assert.equal(sim.registrations.length, 2);
      for (const id of await containersOf(prefix, false)) {
        const inspected = await docker("inspect", id);
        const environs = await docker(
          "exec",
          id,
          "sh",
          "-c",
          "cat /proc/[0-9]*/environ 2>/dev/null; true",
        );
        assert.ok(environs.includes("HOME="), "the environments were read");
        for (const token of sim.registrations) {
          assert.ok(!inspected.includes(token), "a registration token in docker inspect");
          assert.ok(!environs.includes(token), "a registration token in a process's environment");
        }
      }
      sim.holdRunners = false;
      await waitUntilClean(sim, prefix, jobs);
    } finally {
      assert.equal(await daemon.stop(), 0, daemon.stderr);
    }
    assert.equal(sim.jitConfigs.length, 0);
    assert.equal(sim.registrations.length, 2, "one registration token used per runner");
    assert.equal(new Set(jobs.map((j) => j.runnerName)).size, 2);
    assert.match(daemon.stderr, /no just-in-time runner registration for acme\/app \(404\)/);
    for (const token of sim.registrations) assert.ok(!daemon.stderr.includes(token));
  },
  { jit: false },
);
