/**
 * The soak: a daemon with the real Docker engine against the simulator for a while, with jobs
 * arriving at random (some for other hosts: arm64, GPUs) and faults from the fault matrix
 * injected at random, the daemon among them killed (-9) and stopped and started again. At the
 * end the faults stop, the jobs drain, and the outcome is checked: every compatible job served
 * once, by a runner of its own; the others untouched; no registration or container of ours left;
 * no registration of another host deleted; never more runners running than --max-runners; resident
 * memory of the last daemon, which lives the second half, flat.
 */
import { runnerPrefix } from "../../lib/commands/setup.ts";
import type { SimJob } from "../../lib/simulator/objects.ts";
import { containersOf, Daemon, docker, ours, removeCachesOf, waitFor } from "./engine_runs.ts";
import { DOCKER_FAULTS, githubFaults } from "./fault_kinds.ts";
import { makeFaultyDocker } from "./faulty_docker.ts";
import { withSimulator } from "./sim.ts";

export interface SoakOptions {
  seconds: number;
  /** Seeds the random jobs and faults (timing still varies from run to run). */
  seed: number;
  /** Progress lines. */
  say?: (line: string) => void;
}

export interface SoakReport {
  seconds: number;
  seed: number;
  jobs: { compatible: number; served: number; incompatible: number; untouched: number };
  /** Faults injected, by kind. */
  faults: Record<string, number>;
  /** Jobs whose runner also ran another job, or that more than one runner ran. */
  runTwice: number;
  registrations: number;
  /** Most runner containers running at once. */
  mostRunners: number;
  /** Most registrations of ours at once (one whose start failed lives until it is deleted). */
  mostRegistrations: number;
  maxRunners: number;
  leftRegistrations: number;
  leftContainers: number;
  foreignDeleted: number;
  /** The last daemon's resident memory, MiB, 20 s after its start and at its end. */
  memory: { startMiB: number; endMiB: number; overSeconds: number };
  daemonStarts: number;
  logLines: { error: number; warning: number; stackTraces: number };
  /** Seconds from the end of the faults until everything had drained. */
  drainSeconds: number;
  /** What went wrong; empty when the soak passed. */
  problems: string[];
}

const MAX_RUNNERS = 4;
const REPOS = ["acme/one", "acme/two", "acme/three"];
const RUNS = /^\/repos\/acme\/\w+\/actions\/runs$/;

/** A small seeded generator (mulberry32), so a seed gives the same jobs and faults. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GITHUB_FAULTS = githubFaults(RUNS);

const PROCESS_FAULTS = ["daemon kill -9", "daemon SIGTERM"];

/** Resident memory of a process, MiB, or null when it is gone. */
async function rssMiB(pid: number): Promise<number | null> {
  // Through cat: Deno reads another process's /proc files only with --allow-all.
  const output = await new Deno.Command("cat", {
    args: [`/proc/${pid}/status`],
    stdout: "piped",
    stderr: "null",
  }).output();
  const kib = new TextDecoder().decode(output.stdout).match(/^VmRSS:\s+(\d+) kB/m)?.[1];
  return kib ? Number(kib) / 1024 : null;
}

/** Runs the soak; needs a Docker engine. */
export async function soak(options: SoakOptions): Promise<SoakReport> {
  const say = options.say ?? (() => {});
  const rand = random(options.seed);
  const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)]!;
  const faulty = await makeFaultyDocker();
  const prefix = `s${crypto.randomUUID().slice(0, 6)}`;
  const logFile = await Deno.makeTempFile({ prefix: "autoscaler-soak-", suffix: ".log" });
  try {
    return await withSimulator(async (sim) => {
      for (const repo of REPOS) sim.world.addRepo(repo, { org: true });
      // Two runners of another host with the same prefix and host name: never to be touched.
      const other = runnerPrefix(Deno.hostname(), "0ba5eba1", prefix);
      const foreign = [
        sim.world.addRunner("acme/one", {
          name: `${other}idle0001`,
          labels: ["self-hosted", "linux", "x64"],
          status: "online",
        }),
        sim.world.addRunner("acme/two", {
          name: `${other}gone0001`,
          labels: ["self-hosted", "linux", "x64"],
        }),
      ];
      const compatible: SimJob[] = [];
      const incompatible: SimJob[] = [];
      const faults: Record<string, number> = {};
      let mostRunners = 0;
      let mostRegistrations = 0;
      const sample = async () => {
        mostRunners = Math.max(mostRunners, (await containersOf(prefix, false)).length);
        mostRegistrations = Math.max(mostRegistrations, ours(sim, prefix).length);
      };
      let daemonStarts = 0;
      const start = async () => {
        daemonStarts++;
        return await Daemon.start(sim, prefix, [
          "--api-timeout",
          "2",
          "--docker-timeout",
          "3",
          "--max-runners",
          String(MAX_RUNNERS),
        ], { pathPrefix: faulty.bin });
      };
      const logs: string[] = [];
      let daemon = await start();
      let bornAt = Date.now();
      let memoryStart: number | null = null;
      let memoryEnd: number | null = null;
      let memoryStartAt = 0;
      const exits: number[] = [];
      const began = Date.now();
      const end = began + options.seconds * 1000;
      let nextJob = began;
      let nextFault = began + 3000;
      let runs = 0;
      const planned = [
        { at: 0.2, kind: "daemon kill -9", done: false },
        { at: 0.33, kind: "daemon SIGTERM", done: false },
      ];
      while (Date.now() < end) {
        const now = Date.now();
        if (now >= nextJob) {
          const repo = pick(REPOS);
          const count = 1 + Math.floor(rand() * 2);
          const kinds = Array.from({ length: count }, () => rand());
          const { jobs } = sim.world.addRun(repo, {
            name: `CI ${++runs}`,
            jobs: kinds.map((k, i) => ({
              name: `job ${i}`,
              labels: k < 0.08
                ? ["self-hosted", "gpu"]
                : k < 0.16
                ? ["self-hosted", "arm64"]
                : ["self-hosted", "linux"],
            })),
          });
          jobs.forEach((job, i) => (kinds[i]! < 0.16 ? incompatible : compatible).push(job));
          // About 0.4 compatible jobs a second: within what 4 runners of 1 s jobs serve, so
          // the soak tests faults rather than a backlog that outgrows the host.
          nextJob = now + 1500 + rand() * 3500;
        }
        // At a fifth of the time the daemon is killed, at a third stopped, besides any random
        // restarts; only in the first half: the second half's daemon is the one whose memory is
        // watched.
        const due = planned.find((p) => !p.done && now >= began + p.at * options.seconds * 1000);
        if (due || now >= nextFault) {
          const secondHalf = now > began + options.seconds * 500;
          const kinds = [
            ...Object.keys(GITHUB_FAULTS),
            ...Object.keys(DOCKER_FAULTS),
            ...(secondHalf ? [] : PROCESS_FAULTS),
          ];
          const kind = due?.kind ?? pick(kinds);
          if (due) due.done = true;
          faults[kind] = (faults[kind] ?? 0) + 1;
          say(`${Math.round((now - began) / 1000)} s: ${kind}`);
          if (GITHUB_FAULTS[kind]) sim.faults.push(GITHUB_FAULTS[kind]());
          else if (DOCKER_FAULTS[kind]) await faulty.inject(...DOCKER_FAULTS[kind]);
          else {
            const code = await daemon.stop(kind === "daemon kill -9" ? "SIGKILL" : "SIGTERM");
            if (kind === "daemon SIGTERM") exits.push(code);
            logs.push(daemon.stderr);
            daemon = await start();
            bornAt = Date.now();
            memoryStart = null;
          }
          if (!due) nextFault = now + 2000 + rand() * 4000;
        }
        await sample();
        if (memoryStart === null && Date.now() - bornAt > 20_000) {
          memoryStart = await rssMiB(daemon.pid);
          memoryStartAt = Date.now();
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      // The faults end; everything must drain.
      sim.faults.length = 0;
      await faulty.clear();
      const drainFrom = Date.now();
      const problems: string[] = [];
      await waitFor("the jobs served and nothing of ours left", async () => {
        await sample();
        return compatible.every((j) => j.status === "completed") &&
          ours(sim, prefix).length === 0 && (await containersOf(prefix)).length === 0;
      }, 150).catch((error) => problems.push((error as Error).message));
      const drainSeconds = (Date.now() - drainFrom) / 1000;
      memoryEnd = await rssMiB(daemon.pid);
      const overSeconds = (Date.now() - memoryStartAt) / 1000;
      exits.push(await daemon.stop());
      logs.push(daemon.stderr);
      const log = logs.join("");
      await Deno.writeTextFile(logFile, log);

      const served = compatible.filter((j) => j.status === "completed");
      const names = served.map((j) => j.runnerName);
      const runTwice = served.length - new Set(names).size;
      const leftContainers = await containersOf(prefix);
      if (leftContainers.length > 0) await docker("rm", "--force", ...leftContainers);
      await removeCachesOf(prefix);
      const report: SoakReport = {
        seconds: options.seconds,
        seed: options.seed,
        jobs: {
          compatible: compatible.length,
          served: served.filter((j) => j.conclusion === "success").length,
          incompatible: incompatible.length,
          untouched: incompatible.filter((j) => j.status === "queued").length,
        },
        faults,
        runTwice,
        registrations: sim.jitConfigs.length,
        mostRunners,
        mostRegistrations,
        maxRunners: MAX_RUNNERS,
        leftRegistrations: ours(sim, prefix).length,
        leftContainers: leftContainers.length,
        foreignDeleted: foreign.filter((r) => !sim.world.runners.includes(r)).length,
        memory: {
          startMiB: Math.round(memoryStart ?? 0),
          endMiB: Math.round(memoryEnd ?? 0),
          overSeconds: Math.round(overSeconds),
        },
        daemonStarts,
        logLines: {
          error: log.match(/\] ERROR: /g)?.length ?? 0,
          warning: log.match(/\] WARNING: /g)?.length ?? 0,
          stackTraces: log.match(/Uncaught|\n\s+at /g)?.length ?? 0,
        },
        drainSeconds: Math.round(drainSeconds),
        problems,
      };
      const r = report;
      if (r.jobs.served !== r.jobs.compatible) {
        problems.push(`${r.jobs.served} of ${r.jobs.compatible} compatible jobs served`);
      }
      if (r.jobs.untouched !== r.jobs.incompatible) problems.push("an incompatible job was run");
      if (r.runTwice > 0) problems.push(`${r.runTwice} runners ran two jobs`);
      if (r.mostRunners > MAX_RUNNERS) problems.push(`${r.mostRunners} runners at once`);
      if (r.leftRegistrations > 0) problems.push(`${r.leftRegistrations} registrations left`);
      if (r.leftContainers > 0) problems.push(`${r.leftContainers} containers left`);
      if (r.foreignDeleted > 0) problems.push(`${r.foreignDeleted} foreign registrations deleted`);
      if (sim.requests(new RegExp(`/runners/(${foreign.map((f) => f.id).join("|")})$`)).length) {
        problems.push("a foreign registration was asked for by id");
      }
      if (exits.some((code) => code !== 0)) problems.push(`SIGTERM exit codes ${exits}`);
      if (r.logLines.stackTraces > 0) problems.push("stack traces in the log");
      if (memoryStart !== null && memoryEnd !== null && memoryEnd > memoryStart * 1.5 + 10) {
        problems.push(`memory grew from ${r.memory.startMiB} to ${r.memory.endMiB} MiB`);
      }
      if (problems.length > 0) problems.push(`the daemons' log: ${logFile}`);
      else await Deno.remove(logFile);
      return report;
    }, { jobSeconds: 1 });
  } finally {
    await faulty.remove();
  }
}
