import assert from "node:assert/strict";
import { ENGINE } from "../helpers/engine_runs.ts";
import { soak } from "../helpers/soak.ts";

/** The soak's length here: 60 s, or `SOAK_SECONDS`; `deno task soak` runs the long one. */
const SECONDS = Number(Deno.env.get("SOAK_SECONDS") ?? 60);

Deno.test({
  name: `faults: a ${SECONDS} s soak of random jobs and faults (daemon kills among them) ` +
    "serves every compatible job once and leaves nothing",
  ignore: !ENGINE,
  fn: async () => {
    const report = await soak({ seconds: SECONDS, seed: 11 });
    assert.deepEqual(report.problems, [], JSON.stringify(report, null, 2));
    assert.ok(report.jobs.compatible > 0 && report.jobs.incompatible > 0);
    assert.ok(report.daemonStarts > 1, "the daemon was stopped and started again");
  },
});
