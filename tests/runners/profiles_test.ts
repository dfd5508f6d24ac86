/**
 * The runner profiles on real engines: the CI engine (rootful, no remapping), and engines of the
 * test's own: one with `--userns-remap=default` for `sudo`, one with a runtime registered as
 * `sysbox-runc` (plain runc under that name: sysbox is not installed on our machines) for
 * `docker` up to the runtime.
 */
import assert from "node:assert/strict";
import type { GitHubSimulator } from "../../lib/simulator/server.ts";
import { runCli } from "../helpers/cli.ts";
import {
  CAN_START_ENGINE,
  ENGINE_VERSION,
  type OwnEngine,
  startOwnEngine,
} from "../helpers/engine.ts";
import { Daemon, dockerOn, ours, waitFor, withPrefix } from "../helpers/engine_runs.ts";
import {
  ensureProfileImage,
  PROFILE_IMAGE,
  PROFILE_IMAGE_MISSING,
} from "../helpers/runner_image.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";
import { confinementArgs } from "../../lib/runners/docker.ts";

const decoder = new TextDecoder();
const CAN = ENGINE_VERSION !== null && PROFILE_IMAGE_MISSING === null;
if (ENGINE_VERSION !== null && PROFILE_IMAGE_MISSING !== null) {
  if (Deno.env.get("CI")) {
    throw new Error(`CI must build the profile image: ${PROFILE_IMAGE_MISSING}`);
  }
  console.warn(`The profile tests are skipped: ${PROFILE_IMAGE_MISSING}`);
}
if (CAN) await ensureProfileImage();

/** docker exec's output and exit code (its failure is the answer some tests want). */
async function execIn(host: string | undefined, id: string, ...command: string[]) {
  const output = await new Deno.Command("docker", {
    args: ["exec", id, ...command],
    env: host ? { DOCKER_HOST: host } : {},
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    out: decoder.decode(output.stdout),
    err: decoder.decode(output.stderr),
  };
}

/**
 * A daemon of `profile` on the engine at `host` that serves one job of acme/app per `fns`, one
 * after the other, each held: runs its function with the runner's container while it waits for
 * work, then lets the job run and waits until all is clean.
 */
async function withHeldRunner(
  sim: GitHubSimulator,
  prefix: string,
  profile: string,
  host: string | undefined,
  ...fns: ((id: string) => Promise<void>)[]
): Promise<Daemon> {
  sim.world.addRepo("acme/app", { org: true });
  const daemon = await Daemon.start(
    sim,
    prefix,
    ["--profile", profile, "--image", PROFILE_IMAGE],
    { env: host ? { DOCKER_HOST: host } : {} },
  );
  try {
    for (const fn of fns) {
      sim.holdRunners = true;
      const { jobs } = sim.world.addRun("acme/app", {
        name: "CI",
        jobs: [{ name: "j", labels: ["self-hosted"] }],
      });
      await waitFor(
        `a ${profile} runner online`,
        () => ours(sim, prefix).some((r) => r.status === "online"),
      ).catch((error) => {
        throw new Error(`${error.message}; the daemon's log:\n${daemon.stderr}`);
      });
      const ids = (await dockerOn(host, "ps", "--quiet", "--filter", `name=${prefix}`)).trim();
      assert.ok(ids !== "", daemon.stderr);
      await fn(ids.split("\n")[0]!);
      sim.holdRunners = false;
      await waitFor(
        "the job served and nothing left",
        async () =>
          jobs[0]!.status === "completed" && ours(sim, prefix).length === 0 &&
          (await dockerOn(host, "ps", "--all", "--quiet", "--filter", `name=${prefix}`))
              .trim() === "",
      );
      assert.equal(jobs[0]!.conclusion, "success");
    }
  } finally {
    assert.equal(await daemon.stop(), 0, daemon.stderr);
  }
  return daemon;
}

/** An engine of the test's own with runc registered as `sysbox-runc` (sysbox is not here). */
async function withSysboxStandIn(fn: (engine: OwnEngine) => Promise<void>) {
  const runc = decoder.decode(
    (await new Deno.Command("sh", { args: ["-c", "command -v runc"], stdout: "piped" }).output())
      .stdout,
  ).trim();
  await withOwnEngine([`--add-runtime=sysbox-runc=${runc}`], fn);
}

/** An engine of the test's own with `args`, the profile image in it; removed afterwards. */
async function withOwnEngine(args: string[], fn: (engine: OwnEngine) => Promise<void>) {
  const engine = await startOwnEngine(args);
  try {
    await ensureProfileImage(engine.host);
    await fn(engine);
  } finally {
    await engine.remove();
  }
}

Deno.test({
  name: "profiles: hardened runners cannot sudo, and register no sudo or docker label",
  ignore: !CAN,
  fn: () =>
    withSimulator((sim) =>
      withPrefix(async (prefix) => {
        await withHeldRunner(sim, prefix, "hardened", undefined, async (id) => {
          const sudo = await execIn(undefined, id, "sudo", "id", "-u");
          assert.notEqual(sudo.code, 0);
          assert.match(sudo.err, /no new privileges/);
          const labels = ours(sim, prefix)[0]!.labels;
          assert.ok(!labels.includes("sudo") && !labels.includes("docker"), labels.join(","));
        });
      })
    ),
});

for (const profile of ["sudo", "docker"]) {
  Deno.test({
    name: `profiles: ${profile} is refused, with the fix, on an engine whose container root ` +
      "is the host's",
    ignore: !CAN,
    fn: () =>
      withSimulator(async (sim) => {
        sim.world.addRepo("acme/app", { org: true });
        sim.world.addRun("acme/app", {
          name: "CI",
          jobs: [{ name: "j", labels: ["self-hosted"] }],
        });
        const { code, stderr } = await runCli(
          ["run", "--once", "--api-url", sim.url, "--profile", profile],
          { env: { GH_TOKEN: TOKEN } },
        );
        assert.equal(code, 2, stderr);
        assert.doesNotMatch(stderr, /--help/, "a fact about the engine, not a usage mistake");
        assert.match(
          stderr,
          profile === "sudo"
            ? /--profile sudo makes a job root .* add "userns-remap": "default" to \/etc\/docker\/daemon\.json/
            : /--profile docker gives each runner a Docker engine of its own, .* install sysbox/,
        );
        assert.deepEqual(sim.jitConfigs, [], "nothing registered");
      }),
  });
}

Deno.test({
  name: "profiles: sudo on a userns-remapped engine: root in the container, not on the host",
  ignore: !CAN || !CAN_START_ENGINE,
  fn: () =>
    withOwnEngine(["--userns-remap=default"], async (engine) => {
      // Docker refuses a remapped container the host's network, which the tests' runners need
      // to reach the simulator on 127.0.0.1: the daemon says so before it starts anything.
      await withSimulator(async (sim) => {
        sim.world.addRepo("acme/app", { org: true });
        const { code, stderr } = await runCli(
          ["run", "--once", "--api-url", sim.url, "--profile", "sudo", "--network", "host"],
          { env: { GH_TOKEN: TOKEN, DOCKER_HOST: engine.host } },
        );
        assert.equal(code, 2, stderr);
        assert.match(stderr, /--network host cannot be given on this Docker engine: .*bridge/);
        assert.deepEqual(sim.jitConfigs, []);
      });
      // The profile's confinement, as the daemon passes it, on a container of its own.
      const id = (await dockerOn(
        engine.host,
        "run",
        "--detach",
        "--network",
        "none",
        ...confinementArgs("sudo", null),
        PROFILE_IMAGE,
        "sleep",
        "60",
      )).trim();
      try {
        assert.equal((await execIn(engine.host, id, "sudo", "id", "-u")).out.trim(), "0");
        const groups = (await execIn(engine.host, id, "id", "-G")).out.trim().split(" ");
        assert.ok(groups.includes("27") && groups.includes("123"), groups.join(" "));
        // A package-style write to a root-owned path.
        const write = await execIn(
          engine.host,
          id,
          "sudo",
          "sh",
          "-c",
          "echo installed > /usr/local/lib/pkg && cat /usr/local/lib/pkg",
        );
        assert.equal(write.out.trim(), "installed", write.err);
        // Seen from the host, the container's root is not root.
        await dockerOn(engine.host, "exec", "--detach", id, "sudo", "sleep", "30");
        let line: string | undefined;
        await waitFor("the sleep seen from the host", async () => {
          line = (await dockerOn(engine.host, "top", id, "-eo", "pid,uid,args")).split("\n")
            .find((l) => /\ssleep 30$/.test(l));
          return line !== undefined;
        });
        const hostUid = Number(line!.trim().split(/\s+/)[1]);
        assert.ok(hostUid >= 65536, `the job's root is host uid ${hostUid}`);
      } finally {
        await dockerOn(engine.host, "rm", "--force", id);
      }
    }),
});

Deno.test({
  name: "profiles: docker up to the runtime: sysbox-runc, root only to start the runner's " +
    "engine, the runner as uid 1001, labels sudo and docker",
  ignore: !CAN || !CAN_START_ENGINE,
  fn: async () => {
    await withSysboxStandIn(
      (engine) =>
        withSimulator(async (sim) => {
          const prefix = `t${crypto.randomUUID().slice(0, 6)}`;
          await withHeldRunner(sim, prefix, "docker", engine.host, async (id) => {
            const [inspected] = JSON.parse(await dockerOn(engine.host, "inspect", id));
            assert.equal(inspected.HostConfig.Runtime, "sysbox-runc");
            assert.equal(inspected.HostConfig.Privileged, false);
            assert.equal(inspected.Config.User, "0");
            // The runner's engine keeps its images in the repository's cache, a volume of its
            // own slot, beside the tool cache.
            const mounts = Object.fromEntries(
              inspected.Mounts.map((m: { Destination: string; Type: string; Name: string }) => [
                m.Destination,
                `${m.Type} ${m.Name.replace(/^.*-cache-/, "")}`,
              ]),
            );
            assert.deepEqual(Object.keys(mounts).sort(), [
              "/opt/hostedtoolcache",
              "/var/lib/docker",
            ]);
            assert.match(mounts["/opt/hostedtoolcache"]!, /^volume acme-app-[0-9a-f]{16}-0-tool$/);
            assert.match(mounts["/var/lib/docker"]!, /^volume acme-app-[0-9a-f]{16}-0-docker$/);
            const processes = await dockerOn(engine.host, "top", id, "-eo", "pid,uid,args");
            // The runner as 1001; root only for the runner's engine (the stand-in's sleep).
            assert.match(processes, /\n\d+\s+1001\s+\/bin\/sh \.\/run\.sh\n/, processes);
            assert.match(processes, /\n\d+\s+0\s+sleep 100000\n/, processes);
            const labels = ours(sim, prefix)[0]!.labels;
            assert.ok(labels.includes("docker") && labels.includes("sudo"), labels.join(","));
          });
        }),
    );
  },
});

Deno.test({
  name: "profiles: docker: the runner's engine keeps a repository's images for its next job, " +
    "not the containers, networks and volumes a job left",
  ignore: !CAN || !CAN_START_ENGINE,
  fn: async () => {
    const store = "/var/lib/docker/standin";
    await withSysboxStandIn(
      (engine) =>
        withSimulator(async (sim) => {
          const prefix = `t${crypto.randomUUID().slice(0, 6)}`;
          await withHeldRunner(sim, prefix, "docker", engine.host, async (id) => {
            // The first job pulls an image and leaves a container (one that restarts with the
            // engine, say), a network and a volume in its engine.
            const made = await execIn(
              engine.host,
              id,
              "sh",
              "-c",
              `for kind in images containers networks volumes; do mkdir -p ${store}/$kind; ` +
                `touch ${store}/$kind/left; done`,
            );
            assert.equal(made.code, 0, made.err);
          }, async (id) => {
            const seen = await execIn(engine.host, id, "sh", "-c", `cd ${store} && ls */`);
            assert.equal(seen.code, 0, seen.err);
            assert.equal(
              seen.out,
              "containers/:\n\nimages/:\nleft\n\nnetworks/:\n\nvolumes/:\n",
            );
          });
        }),
    );
  },
});
