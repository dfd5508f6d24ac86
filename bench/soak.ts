/**
 * `deno task soak [--minutes N] [--seed N]`: the soak of tests/helpers/soak.ts (default 10
 * minutes) with a real Docker engine; prints its figures and exits 1 when a check failed.
 */
import { parseArgs } from "node:util";
import { ENGINE_VERSION } from "../tests/helpers/engine.ts";
import { soak } from "../tests/helpers/soak.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { minutes: { type: "string", default: "10" }, seed: { type: "string" } },
});
const minutes = Number(values.minutes);
if (!(minutes > 0 && minutes <= 240)) {
  console.error(`Invalid --minutes "${values.minutes}": give minutes from 0.1 to 240`);
  Deno.exit(2);
}
if (ENGINE_VERSION === null) {
  console.error("The soak needs a Docker engine (DOCKER_HOST, or the default socket)");
  Deno.exit(1);
}
const seed = values.seed === undefined ? Date.now() % 1_000_000 : Number(values.seed);
console.log(`Soak: ${minutes} min, seed ${seed}, Docker engine ${ENGINE_VERSION}`);
const started = new Date();
const report = await soak({
  seconds: minutes * 60,
  seed,
  say: (line) => console.log(`  ${line}`),
});
const r = report;
console.log(`
Soak of ${minutes} min (seed ${seed}), started ${started.toISOString()}
  jobs: ${r.jobs.compatible} compatible, ${r.jobs.served} served once each; ${r.jobs.incompatible} for other hosts, ${r.jobs.untouched} left queued
  faults: ${Object.values(r.faults).reduce((a, b) => a + b, 0)} (${
  Object.entries(r.faults).sort().map(([k, n]) => `${k} ${n}`).join(", ")
})
  daemon starts: ${r.daemonStarts}; jobs run twice: ${r.runTwice}; registrations: ${r.registrations}
  most runners running at once: ${r.mostRunners} (max ${r.maxRunners}); most registrations at once: ${r.mostRegistrations}
  left at the end: ${r.leftRegistrations} registrations, ${r.leftContainers} containers; foreign registrations deleted: ${r.foreignDeleted}
  drained in ${r.drainSeconds} s after the last fault
  last daemon's memory: ${r.memory.startMiB} MiB after 20 s, ${r.memory.endMiB} MiB ${r.memory.overSeconds} s later
  log: ${r.logLines.error} ERROR and ${r.logLines.warning} WARNING lines, ${r.logLines.stackTraces} stack traces
${r.problems.length === 0 ? "PASSED" : `FAILED:\n  ${r.problems.join("\n  ")}`}`);
Deno.exit(r.problems.length === 0 ? 0 : 1);
