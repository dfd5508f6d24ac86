/**
 * The fault matrix: one row per fault GitHub or Docker really shows. Each row runs a daemon with
 * the real engine against the simulator (two queued jobs, and a registration of another host
 * with the same prefix and host name), injects its fault, and asserts the outcome: every job
 * served once by a runner of its own, no more runners than jobs at any time, nothing left
 * (registration or container), the other host's registration untouched, the loop going on, and
 * the fault told in one clear log line.
 */
import assert from "node:assert/strict";
import { runnerPrefix } from "../../lib/commands/setup.ts";
import type { Fault, GitHubSimulator } from "../../lib/simulator/server.ts";
import { LABEL } from "../../lib/runners/docker.ts";
import {
  containersOf,
  Daemon,
  docker,
  engineTest,
  ours,
  waitFor,
  waitUntilClean,
} from "../helpers/engine_runs.ts";
import { DOCKER_FAULTS, githubFaults } from "../helpers/fault_kinds.ts";
import { type FaultyDocker, makeFaultyDocker } from "../helpers/faulty_docker.ts";

const RUNS = /^\/repos\/acme\/app\/actions\/runs$/;
/** The faults the soak injects too (`tests/helpers/fault_kinds.ts`). */
const GITHUB = githubFaults(RUNS);

/** One row: how the fault is injected, and the line that must tell it. */
interface Row {
  name: string;
  /** Made when the row runs (a rate-limit reset counts from then). */
  github?: () => Fault[];
  docker?: [subcommand: string, mode: "fail" | "hang", times: number][];
  /** A repository besides acme/app, which the fault concerns. */
  otherRepo?: string;
  line: RegExp;
  /** Registrations a fault may make in vain (deleted again); none by default. */
  spareRegistrations?: number;
  /** Flags for the daemon besides the matrix's own. */
  flags?: string[];
  /** The repository of each of the two jobs; both acme/app by default. */
  jobsIn?: [string, string];
  /** Containers a fault may leave running beside the runners (removed by a later cycle). */
  spareContainers?: number;
}

const message = (text: string) => JSON.stringify({ message: text, documentation_url: "x" });

const ROWS: Row[] = [
  {
    name: "GitHub answers 502 twice",
    github: () => [GITHUB["GitHub 502"]!()],
    line:
      /WARNING: Skipped acme\/app this cycle: GET \/repos\/acme\/app\/actions\/runs answered 502/,
  },
  {
    name: "GitHub answers 503 to a runner registration",
    github: () => [GITHUB["registration 503"]!()],
    line: /ERROR: Could not start runners for acme\/app: .*503/,
  },
  {
    name: "a request is never answered",
    github: () => [GITHUB["GitHub hangs"]!()],
    line: /WARNING: Skipped acme\/app this cycle: .*actions\/runs.*: no answer within 2 s/,
  },
  {
    name: "the connection breaks off mid-answer",
    github: () => [GITHUB["connection reset"]!()],
    line:
      /WARNING: Skipped acme\/app this cycle: .*actions\/runs \(page 1\) answered with an empty body \(or the connection broke off\)/,
  },
  {
    name: "the token is refused (401)",
    github: () => [GITHUB["401"]!()],
    line: /ERROR: .*Bad credentials/,
  },
  {
    name: "the primary rate limit is spent (403)",
    github: () => [{
      path: RUNS,
      status: 403,
      body: message("API rate limit exceeded for user ID 1."),
      headers: {
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 2),
      },
      times: 1,
    }],
    line:
      /WARNING: GitHub asked to wait [12] s before GET \/repos\/\{owner\}\/\{repo\}\/actions\/runs \(403\); waiting/,
  },
  {
    name: "a secondary rate limit (403 with retry-after)",
    github: () => [GITHUB["403 secondary limit"]!()],
    line:
      /WARNING: GitHub asked to wait 1 s before GET \/repos\/\{owner\}\/\{repo\}\/actions\/runs \(403\); waiting/,
  },
  {
    name: "too many requests (429 with retry-after)",
    github: () => [GITHUB["429"]!()],
    line:
      /WARNING: GitHub asked to wait 1 s before GET \/repos\/\{owner\}\/\{repo\}\/actions\/runs \(429\); waiting/,
  },
  {
    name: "an answer that is not JSON",
    github: () => [GITHUB["malformed JSON"]!()],
    line:
      /WARNING: Skipped acme\/app this cycle: .*actions\/runs \(page 1\) answered with a body that is not JSON/,
  },
  {
    name: "a watched repository is gone (404)",
    otherRepo: "acme/gone",
    github: () => [{ path: /^\/repos\/acme\/gone\//, status: 404, body: message("Not Found") }],
    line: /acme\/gone.*404|404.*acme\/gone/,
  },
  {
    // Without caches: with them, a repository's first `docker run` prepares its cache (below).
    name: "docker run fails",
    docker: [DOCKER_FAULTS["docker run fails"]!],
    line: /ERROR: Could not start runners for acme\/app: Cannot start runner .*injected fault/,
    spareRegistrations: 1,
    flags: ["--no-cache"],
  },
  {
    name: "docker run hangs",
    docker: [DOCKER_FAULTS["docker run hangs"]!],
    line: /ERROR: Could not start runners for acme\/app: .*did not answer within 6 s/,
    spareRegistrations: 1,
    flags: ["--no-cache"],
  },
  {
    // The runner starts without a cache. The volume is made but not given to the runner user:
    // the next start of that slot must do that before a runner writes its tool cache.
    name: "preparing a new cache volume (docker run) fails",
    docker: [DOCKER_FAULTS["docker run fails"]!],
    line:
      /WARNING: Could not give runner \S+ its cache: Cannot prepare cache volume \S+-cache-acme-app-\w+-0-tool: .*injected fault; starting it without one/,
  },
  {
    // The first start's container is left running, its slot with it: the second start, the same
    // cycle, of a job sharing the cache (--cache-share org) must take another slot.
    name: "a start fails and its container cannot be removed",
    docker: [DOCKER_FAULTS["settings hand-over fails"]!, DOCKER_FAULTS["docker rm fails"]!],
    line: /ERROR: Could not start runners for acme\/\w+: Cannot hand runner .* its settings/,
    spareRegistrations: 1,
    spareContainers: 1,
    otherRepo: "acme/web",
    jobsIn: ["acme/app", "acme/web"],
    flags: ["--cache-share", "org"],
  },
  {
    // Each listing is tried twice: the first two are the daemon's prune as it starts (a
    // warning), the next two a start's, whose runner starts without a cache.
    name: "listing the cache volumes fails",
    docker: [["volume", "fail", 4]],
    line:
      /WARNING: Could not give runner \S+ its cache: Cannot list cache volumes: .*injected fault; starting it without one/,
  },
  {
    name: "handing a runner its settings (docker exec) fails",
    docker: [DOCKER_FAULTS["settings hand-over fails"]!],
    line:
      /ERROR: Could not start runners for acme\/app: Cannot hand runner .* its settings: docker exited with code 1: .*injected fault/,
    spareRegistrations: 1,
  },
  {
    name: "handing a runner its settings (docker exec) hangs",
    docker: [DOCKER_FAULTS["settings hand-over hangs"]!],
    line:
      /ERROR: Could not start runners for acme\/app: Cannot hand runner .* its settings: docker did not answer within 3 s/,
    spareRegistrations: 1,
  },
  {
    name: "docker inspect fails",
    docker: [DOCKER_FAULTS["docker inspect fails"]!],
    line: /ERROR: Cycle \d failed: Cannot inspect containers: .*injected fault/,
  },
  {
    name: "docker ps hangs",
    docker: [DOCKER_FAULTS["docker ps hangs"]!],
    line: /ERROR: Cycle \d failed: Cannot list containers: .*did not answer within 3 s/,
  },
  {
    name: "docker rm fails",
    docker: [DOCKER_FAULTS["docker rm fails"]!],
    line:
      /WARNING: Could not remove runner .*: Cannot remove container \w+: docker exited with code 1: Error response from daemon: injected fault/,
  },
  {
    name: "the image check fails",
    // The first check is the daemon's own as it starts (a warning), the second a start's.
    docker: [["image", "fail", 2]],
    line: /ERROR: Could not start runners for acme\/app: Cannot pull image/,
  },
];

for (const row of ROWS) {
  engineTest(`fault matrix: ${row.name}`, async (sim, prefix) => {
    const faulty = await makeFaultyDocker();
    try {
      await runRow(sim, prefix, row, faulty);
    } finally {
      await faulty.remove();
    }
    // Each job sets up a tool, so a runner that cannot write its tool cache fails its job.
  }, { jobSeconds: 1, toolBytes: 10_000 });
}

async function runRow(sim: GitHubSimulator, prefix: string, row: Row, faulty: FaultyDocker) {
  sim.world.addRepo("acme/app", { org: true });
  if (row.otherRepo) sim.world.addRepo(row.otherRepo, { org: true });
  const [first, second] = row.jobsIn ?? ["acme/app", "acme/app"];
  const jobs = first === second
    ? sim.world.addRun(first, {
      name: "CI",
      jobs: ["one", "two"].map((name) => ({ name, labels: ["self-hosted", "linux"] })),
    }).jobs
    : [first, second].flatMap((repo) =>
      sim.world.addRun(repo, {
        name: "CI",
        jobs: [{ name: "one", labels: ["self-hosted", "linux"] }],
      }).jobs
    );
  // Another host with the same name prefix and host name; only its host id differs.
  const foreign = sim.world.addRunner("acme/app", {
    name: `${runnerPrefix(Deno.hostname(), "0ba5eba1", prefix)}f0f0f0f0`,
    labels: ["self-hosted", "linux", "x64"],
    status: "online",
  });
  const faults = row.github?.() ?? [];
  sim.faults.push(...faults);
  for (const [subcommand, mode, times] of row.docker ?? []) {
    await faulty.inject(subcommand, mode, times);
  }
  let mostRegistered = 0;
  let mostRunning = 0;
  const shared: string[] = [];
  const daemon = await Daemon.start(
    sim,
    prefix,
    ["--api-timeout", "2", "--docker-timeout", "3", ...row.flags ?? []],
    { pathPrefix: faulty.bin },
  );
  let exit: number;
  try {
    await waitUntilClean(sim, prefix, jobs, async () => {
      mostRegistered = Math.max(mostRegistered, ours(sim, prefix).length);
      mostRunning = Math.max(mostRunning, (await containersOf(prefix, false)).length);
      shared.push(...await sharedSlots(prefix));
    });
    // The loop goes on after the fault: another cycle ends well.
    const cycles = () => daemon.stderr.match(/Found \d+ repos/g)?.length ?? 0;
    const before = cycles();
    await waitFor("another good cycle", () => cycles() > before, 10);
  } finally {
    exit = await daemon.stop();
  }
  const log = daemon.stderr;
  assert.equal(exit, 0, log);
  for (const fault of faults) {
    assert.ok(sim.log.some((r) => r.status === fault.status), "the GitHub fault was met");
    assert.ok(fault.times === undefined || fault.times === 0, "the GitHub fault was met");
  }
  if (row.docker) assert.ok((await faulty.injected()).length > 0, "the docker fault was met");
  assert.match(log, row.line);
  assert.doesNotMatch(log, /Uncaught|\n\s+at /, "no stack trace");
  assert.deepEqual(jobs.map((j) => j.conclusion), ["success", "success"], log);
  assert.equal(new Set(jobs.map((j) => j.runnerName)).size, 2, "a runner of its own per job");
  assert.ok(jobs.every((j) => j.runnerName?.startsWith(`${prefix}-`)));
  assert.ok(mostRegistered <= 2, `${mostRegistered} registrations at once for 2 jobs`);
  assert.ok(
    mostRunning <= 2 + (row.spareContainers ?? 0),
    `${mostRunning} runners at once for 2 jobs`,
  );
  assert.deepEqual(shared, [], "two running containers wrote one cache slot");
  assert.ok(
    sim.jitConfigs.length <= 2 + (row.spareRegistrations ?? 0),
    `${sim.jitConfigs.length} registrations`,
  );
  assert.ok(sim.world.runners.includes(foreign), "the other host's registration is kept");
  assert.deepEqual(sim.requests(new RegExp(`/runners/${foreign.id}$`)), []);
}

/** The cache slots (`key#slot`) that more than one running container of `prefix` holds. */
async function sharedSlots(prefix: string): Promise<string[]> {
  const slots = (await docker(
    "ps",
    "--filter",
    `name=${prefix}`,
    "--format",
    `{{.Label "${LABEL}.cache-key"}}#{{.Label "${LABEL}.cache-slot"}}`,
  )).split("\n").filter((slot) => slot !== "" && slot !== "#");
  return slots.filter((slot, i) => slots.indexOf(slot) !== i);
}
