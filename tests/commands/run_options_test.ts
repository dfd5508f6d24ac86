import assert from "node:assert/strict";
import { parseRunOptions } from "../../lib/commands/run_options.ts";

const parse = (values: Record<string, string | boolean | string[]>) =>
  parseRunOptions(values, () => undefined);

Deno.test("run options: a long --idle-timeout needs no --pool-max-age without a pool", () => {
  const options = parse({ "idle-timeout": "7200" });
  assert.equal(options.idleTimeoutSeconds, 7200);
  assert.equal(options.minIdle, null);
});

Deno.test("run options: --min-idle N is CPU runners; kinds are named, in any case", () => {
  const org = { "runner-scope": "org" };
  assert.deepEqual(parse({ ...org, "min-idle": "2" }).minIdle, { cpu: 2 });
  assert.deepEqual(parse({ ...org, "min-idle": " cuda=1, CPU=2 " }).minIdle, { cuda: 1, cpu: 2 });
  assert.equal(parse({ ...org, "min-idle": "0" }).minIdle, null);
  assert.equal(parse({ ...org, "min-idle": "cpu=0,cuda=0" }).minIdle, null);
  assert.deepEqual(parse({ repo: ["a/b"], "min-idle": "1" }).minIdle, { cpu: 1 });
});
