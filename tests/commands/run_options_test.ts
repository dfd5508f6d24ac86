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

Deno.test("run options: caches are on by default, per repository, within 10g, 50g and 7 days", () => {
  assert.deepEqual(parse({}).cache, {
    share: "repo",
    maxRepoBytes: 10 * 1024 ** 3,
    maxTotalBytes: 50 * 1024 ** 3,
    maxAgeDays: 7,
  });
  assert.equal(parse({ "no-cache": true }).cache, null);
  assert.throws(() => parse({ "no-cache": true, "cache-max-repo": "lots" }), /--cache-max-repo/);
  const set = parse({
    "cache-share": "org",
    "cache-max-repo": "1.5G",
    "cache-max-total": "500m",
    "cache-max-age": "30",
  }).cache;
  assert.deepEqual(set, {
    share: "org",
    maxRepoBytes: 1.5 * 1024 ** 3,
    maxTotalBytes: 500 * 1024 ** 2,
    maxAgeDays: 30,
  });
  for (
    const [flag, value] of [["cache-max-repo", "512k"], ["cache-max-total", "-1g"], [
      "cache-share",
      "host",
    ], ["cache-max-age", "0"]]
  ) {
    assert.throws(() => parse({ [flag!]: value! }), new RegExp(`Invalid --${flag} "${value}"`));
  }
});

Deno.test("run options: --mode scaleset takes one organization, shares caches by it, and refuses what chooses jobs or runners another way", () => {
  const scaleSet = { mode: "scaleset", owner: ["acme"] };
  const options = parse(scaleSet);
  assert.equal(options.mode, "scaleset");
  assert.equal(options.runnerScope, "org");
  assert.equal(options.cache?.share, "org");
  assert.equal(parse({}).mode, "poll");
  assert.throws(() => parse({ mode: "push" }), /Invalid --mode "push": use poll, scaleset/);
  const wrongs: Record<string, string[]>[] = [{}, { owner: ["a", "b"] }, {
    owner: ["a"],
    repo: ["a/b"],
  }];
  for (const wrong of wrongs) {
    assert.throws(() => parse({ mode: "scaleset", ...wrong }), /give it as --owner ORG/);
  }
  const refused: Record<string, string | boolean>[] = [
    { "dry-run": true },
    { once: true },
    { "webhook-listen": "127.0.0.1:0", "webhook-secret-file": "/x" },
    { "min-idle": "1" },
    { "runner-scope": "org" },
    { "since-days": "3" },
    { "pool-max-age": "600" },
    { "no-arch-filter": true },
  ];
  for (const values of refused) {
    const name = Object.keys(values)[0]!;
    assert.throws(
      () => parse({ ...scaleSet, ...values }),
      new RegExp(`^UsageError: --${name} does not go with --mode scaleset: `),
    );
  }
  assert.throws(() => parse({ ...scaleSet, "cache-share": "repo" }), /shared by the organization/);
});

Deno.test("run options: --state-dir is made absolute, for the service that runs elsewhere", () => {
  assert.equal(parse({}).stateDir, null);
  assert.equal(parse({ "state-dir": "/srv/host-b" }).stateDir, "/srv/host-b");
  assert.equal(parse({ "state-dir": "host-b" }).stateDir, `${Deno.cwd()}/host-b`);
  assert.throws(() => parse({ "state-dir": " " }), /Invalid --state-dir/);
});
