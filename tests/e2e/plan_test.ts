import assert from "node:assert/strict";
import { runnerPrefix } from "../../lib/commands/setup.ts";
import { asX64Host, runCli, TEST_HOST_ID } from "../helpers/cli.ts";
import { busyWorld } from "../helpers/scenarios.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

interface PlanJob {
  repo: string;
  run_id: number;
  job_id: number;
  workflow: string;
  job_name: string;
  labels: string[];
  decision: "provision" | "wait" | "skip";
  reason: string;
}

Deno.test("plan --json over two orgs and a user: every job decided, 150-job matrix included", async () => {
  await withSimulator(async (sim) => {
    busyWorld(sim.world, runnerPrefix(Deno.hostname(), TEST_HOST_ID));
    const { code, stdout, stderr } = await asX64Host(
      [
        "plan",
        "--json",
        "--dry-run",
        "--since-days",
        "1",
        "--api-url",
        sim.url,
        "--max-runners",
        "10",
        "--labels",
        "big-ram",
      ],
      { GH_TOKEN: TOKEN },
    );
    assert.equal(code, 0, stderr);
    const plan = JSON.parse(stdout);
    assert.deepEqual(Object.keys(plan).slice(0, 3), ["host", "repos", "jobs"]);
    assert.equal(plan.host.arch, "x64");
    assert.deepEqual(plan.host.labels, [
      "self-hosted",
      "linux",
      "x64",
      "cpu-only",
      "big-ram",
    ]);
    assert.deepEqual(plan.repos, [
      "acme/api",
      "acme/firmware",
      "acme/ml",
      "acme/web",
      "beta-labs/matrix",
      "beta-labs/tools",
      "octo/dots",
    ]);
    const jobs: PlanJob[] = plan.jobs;
    assert.equal(jobs.length, 162);
    for (const job of jobs) {
      for (
        const field of ["repo", "run_id", "job_id", "workflow", "labels", "decision", "reason"]
      ) {
        assert.ok(field in job, `${field} in ${JSON.stringify(job)}`);
      }
    }
    const byName = (name: string) => jobs.find((j) => j.job_name === name)!;
    const skipped = jobs.filter((j) => j.decision === "skip").map((j) => `${j.repo} ${j.job_name}`);
    assert.deepEqual(skipped.sort(), [
      "acme/api docs",
      "acme/firmware build",
      "acme/firmware test",
      "acme/ml eval",
      "acme/ml train",
      "beta-labs/tools sign",
    ]);
    assert.match(byName("docs").reason, /GitHub-hosted/);
    assert.match(byName("eval").reason, /lack the label gpu/);
    assert.match(
      jobs.find((j) => j.repo === "acme/firmware")!.reason,
      /arm64-ci\.yml" names arm64/,
    );
    // Oldest first: the idle runner of ours covers acme/api's oldest job and, with it, 9 more runners
    // make the 10 of --max-runners.
    assert.deepEqual([byName("test").decision, byName("test").reason], [
      "wait",
      `covered by idle runner ${runnerPrefix(Deno.hostname(), TEST_HOST_ID)}0001`,
    ]);
    const provisioned = jobs.filter((j) => j.decision === "provision").map((j) => j.job_name);
    assert.deepEqual(provisioned, [
      "lint",
      "e2e-chrome",
      "e2e-firefox",
      "package",
      "shellcheck",
      ...Array.from({ length: 4 }, (_, i) => `test (py3.${10 + (i % 3)}, shard ${i})`),
    ]);
    const waiting = jobs.filter((j) => j.decision === "wait");
    assert.equal(waiting.length, 1 + 146);
    assert.equal(waiting.at(-1)!.reason, "no capacity: 10 of 10 runners in use (--max-runners)");
    assert.deepEqual(
      plan.actions.map((
        a: { repo: string; count: number; kind: string },
      ) => [a.kind, a.repo, a.count]),
      [
        ["start", "acme/api", 1],
        ["start", "acme/web", 2],
        ["start", "beta-labs/tools", 1],
        ["start", "octo/dots", 1],
        ["start", "beta-labs/matrix", 4],
      ],
    );
    // The figure recorded in the issue's closing note: 1 repository list, 2 run lists for each of
    // the 7 repositories, 9 job lists (the matrix run's 150 jobs take two pages), and runner lists
    // for the 5 repositories with jobs this host can take.
    assert.equal(sim.log.length, 29, sim.log.map((r) => r.url).join("\n"));
    assert.ok(sim.log.every((r) => r.method === "GET" && r.status === 200));
  });
});

Deno.test("plan prints its decisions for a person", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("acme/web", { org: true });
    sim.world.addRun("acme/web", {
      name: "E2E",
      jobs: [{ name: "chrome", labels: ["self-hosted"] }, { name: "mac", labels: ["macos-14"] }],
    });
    const { code, stdout } = await asX64Host(["plan", "--api-url", sim.url], { GH_TOKEN: TOKEN });
    assert.equal(code, 0);
    assert.match(
      stdout,
      /^Host: x64, labels self-hosted, linux, x64, cpu-only; at most 1 runners$/m,
    );
    assert.match(stdout, /^provision acme\/web E2E \/ chrome \[self-hosted\]$/m);
    assert.match(
      stdout,
      /^skip {6}acme\/web E2E \/ mac \[macos-14\]\n {10}runs-on macos-14 is for GitHub-hosted/m,
    );
    assert.match(
      stdout,
      /^ {2}start 1 cpu runner for acme\/web \[self-hosted, linux, x64, cpu-only\]$/m,
    );
  });
});

Deno.test("plan without any token says how to get one and exits 1", async () => {
  await withSimulator(async (sim) => {
    const { code, stdout, stderr } = await asX64Host(["plan", "--api-url", sim.url]);
    assert.equal(code, 1);
    assert.equal(stdout, "");
    assert.match(
      stderr,
      /^error: plan failed: No GitHub token: set GH_TOKEN or GITHUB_TOKEN, or run `gh auth login`/,
    );
    assert.equal(stderr.trim().split("\n").length, 1);
    assert.equal(sim.log.length, 0);
  });
});

Deno.test("plan with a rejected token exits 1 with one line, and never prints the token", async () => {
  await withSimulator(async (sim) => {
    const bad = "ghp_" + "B".repeat(36);
    const { code, stderr } = await asX64Host(["plan", "--api-url", sim.url], { GH_TOKEN: bad });
    assert.equal(code, 1);
    assert.match(stderr, /^error: plan failed: GitHub rejected the token \(401 Bad credentials\)/);
    assert.equal(stderr.trim().split("\n").length, 1);
    assert.ok(!stderr.includes(bad));
  });
});

Deno.test("plan signs in as a GitHub App installation", async () => {
  const { makeAppKey } = await import("../helpers/app_key.ts");
  const key = await makeAppKey();
  const keyFile = await Deno.makeTempFile({ suffix: ".pem" });
  await Deno.writeTextFile(keyFile, key.privateKeyPem);
  try {
    await withSimulator(async (sim) => {
      sim.world.addRepo("acme/app", { org: true });
      sim.world.addRepo("acme/other", { org: true });
      sim.world.addRun("acme/app", { name: "CI", jobs: [{ name: "t", labels: ["self-hosted"] }] });
      const { code, stdout, stderr } = await asX64Host([
        "plan",
        "--json",
        "--api-url",
        sim.url,
        "--app-id",
        "42",
        "--app-private-key-file",
        keyFile,
        "--installation-id",
        "7",
      ]);
      assert.equal(code, 0, stderr);
      const plan = JSON.parse(stdout);
      assert.deepEqual(plan.repos, ["acme/app"]);
      assert.equal(plan.jobs[0].decision, "provision");
      assert.equal(sim.requests(/access_tokens$/).length, 1);
    }, { app: { id: 42, publicKey: key.publicKey, installations: { 7: ["acme/app"] } } });
  } finally {
    await Deno.remove(keyFile);
  }
});

const USAGE: [string[], RegExp][] = [
  [["plan", "--repo", "nope"], /Invalid --repo "nope": give it as OWNER\/NAME/],
  [["plan", "--owner", "bad name"], /Invalid --owner "bad name"/],
  [["plan", "--max-runners=-1"], /Invalid --max-runners "-1"/],
  [
    ["plan", "--max-runners", "-1"],
    /Option "--max-runners" needs a value; write --max-runners=VALUE for one starting with "-"\. Run/,
  ],
  [["plan", "--since-days", "x"], /Invalid --since-days "x"/],
  [["plan", "--api-url", "http://example.com"], /plain http only to localhost/],
  [["plan", "--app-id", "1"], /A GitHub App needs all of --app-id/],
  [["run", "--pull", "sometimes"], /Invalid --pull "sometimes": use missing, always/],
  [["run", "--network", "wifi"], /Invalid --network "wifi": use bridge, host/],
  [["run", "--runner-memory", "lots"], /Invalid --runner-memory "lots": give a size like 4g/],
  [["run", "--runner-cpus", "0"], /Invalid --runner-cpus "0"/],
  [["run", "--runner-cpus", "0.001"], /Invalid --runner-cpus "0.001": .*at least 0.01/],
  [["run", "--name-prefix=-x"], /Invalid --name-prefix "-x"/],
  [["run", "--idle-timeout", "0"], /Invalid --idle-timeout "0"/],
  [
    ["run", "--idle-timeout", "1"],
    /Invalid --idle-timeout "1": give a whole number of at least 30/,
  ],
  [["run", "--runner-memory", "6m"], /Invalid --runner-memory "6m": .*at least 256m/],
  [
    ["run", "--dry-run", "--interval", "2147484"],
    /Invalid --interval "2147484": give seconds, at least 0.01 and at most 86400/,
  ],
  [
    ["run", "--dry-run", "--interval", "0"],
    /Invalid --interval "0": give seconds, at least 0.01/,
  ],
  [["run", "--docker-timeout", "0"], /Invalid --docker-timeout "0": give seconds from 1 to 600/],
  [["run", "--min-idle", "two"], /Invalid --min-idle "two": give a number of idle CPU runners/],
  [["run", "--min-idle", "gpu=1"], /Invalid --min-idle "gpu=1": .*kinds: cpu, cuda, rocm/],
  [["run", "--min-idle", "cpu=1,cpu=2"], /Invalid --min-idle "cpu=1,cpu=2"/],
  [["run", "--min-idle", "cpu=1=2"], /Invalid --min-idle "cpu=1=2"/],
  [["run", "--min-idle", "1001"], /Invalid --min-idle "1001": .*each at most 1000/],
  [
    ["run", "--runner-scope", "org", "--min-idle", "1", "--pool-max-age", "120"],
    /Invalid --pool-max-age "120": a pool runner gets at least --idle-timeout \(300 s\)/,
  ],
  [["run", "--min-idle", "2"], /--min-idle with --runner-scope repo .* --repo/],
  [["run", "--min-idle", "2", "--repo", "a/b", "--owner", "c"], /--runner-scope org/],
  [
    ["run", "--min-idle", "2", "--runner-scope", "org", "--once"],
    /--min-idle keeps runners ready between cycles; it does not go with --once/,
  ],
  [["run", "--pool-max-age", "59"], /Invalid --pool-max-age "59": .*at least 60/],
];

Deno.test("runner CPUs or memory beyond the host's are a usage error, before anything starts", async () => {
  for (
    const [args, message] of [
      [["--runner-cpus", "1000"], /Invalid --runner-cpus: 1000 CPUs are more than this host's \d+/],
      [
        ["--runner-memory", "900g"],
        /Invalid --runner-memory: 921600 MiB is more than this host's \d+ MiB/,
      ],
    ] as const
  ) {
    const { code, stderr } = await asX64Host(["run", "--dry-run", "--once", ...args], {
      GH_TOKEN: "ghp_" + "U".repeat(36),
    });
    assert.equal(code, 2, stderr);
    assert.match(stderr, message);
  }
});

for (const [args, message] of USAGE) {
  Deno.test(`"autoscaler ${args.join(" ")}" is a usage error`, async () => {
    const { code, stderr } = await runCli(args);
    assert.equal(code, 2);
    assert.match(stderr, message);
    assert.equal(stderr.trim().split("\n").length, 1);
  });
}
