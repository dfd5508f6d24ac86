import assert from "node:assert/strict";
import { VERSION } from "../../lib/program/version.ts";
import { runCli } from "../helpers/cli.ts";

Deno.test("--help lists the commands that exist and the common options", async () => {
  const { code, stdout, stderr } = await runCli(["--help"]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^Usage: autoscaler <command> \[options\]$/m);
  assert.match(stdout, /^ {2}detect +Show this host/m);
  assert.match(stdout, /--log-format FORMAT/);
  assert.equal(stderr, "");
});

Deno.test("--version prints the version from lib/program/version.ts", async () => {
  const { code, stdout } = await runCli(["--version"]);
  assert.equal(code, 0);
  assert.equal(stdout, `autoscaler ${VERSION}\n`);
  assert.equal((await runCli(["-V"])).stdout, `autoscaler ${VERSION}\n`);
});

Deno.test("detect --help shows its own options", async () => {
  const { code, stdout } = await runCli(["detect", "--help"]);
  assert.equal(code, 0);
  assert.match(stdout, /^Usage: autoscaler detect /);
  for (const option of ["--json", "--labels", "--probe-timeout", "--root", "--log-level"]) {
    assert.ok(stdout.includes(option), option);
  }
});

const USAGE_ERRORS: [string[], string][] = [
  [[], `error: No command given. Run "autoscaler --help" for the list.`],
  [["frobnicate"], `error: Unknown command "frobnicate". Run "autoscaler --help" for usage.`],
  [["--frobnicate"], `error: Unknown option "--frobnicate". Run "autoscaler --help" for usage.`],
  [
    ["detect", "--bogus"],
    `error: Unknown option "--bogus". Run "autoscaler detect --help" for usage.`,
  ],
  [
    ["detect", "extra"],
    `error: Unexpected argument "extra". Run "autoscaler detect --help" for usage.`,
  ],
  [
    ["detect", "--labels"],
    `error: Option "--labels" needs a value. Run "autoscaler detect --help" for usage.`,
  ],
  [
    ["detect", "--json=yes"],
    `error: Option "--json" takes no value. Run "autoscaler detect --help" for usage.`,
  ],
  [
    ["detect", "--log-level", "loud"],
    `error: Invalid --log-level "loud": use one of trace, debug, info, warning, error, fatal. ` +
    `Run "autoscaler detect --help" for usage.`,
  ],
  [
    ["detect", "--root", "/no/such/dir"],
    `error: Invalid --root "/no/such/dir": not a directory. Run "autoscaler detect --help" for usage.`,
  ],
  [
    ["detect", "--probe-timeout", "soon"],
    `error: Invalid --probe-timeout "soon": give seconds between 0 and 3600. ` +
    `Run "autoscaler detect --help" for usage.`,
  ],
  [
    ["cache"],
    `error: Give one of ls, prune. Run "autoscaler cache --help" for usage.`,
  ],
  [
    ["cache", "clear"],
    `error: Unknown cache action "clear": use one of ls, prune. Run "autoscaler cache --help" for usage.`,
  ],
  [
    ["cache", "ls", "--repo", "acme/app"],
    `error: --repo and --org go with prune. Run "autoscaler cache --help" for usage.`,
  ],
  [
    ["run", "--cache-max-repo", "lots"],
    `error: Invalid --cache-max-repo "lots": give a size like 10g or 500m (at least 1m). ` +
    `Run "autoscaler run --help" for usage.`,
  ],
];

for (const [args, message] of USAGE_ERRORS) {
  Deno.test(`"autoscaler ${args.join(" ")}" is a usage error (exit 2, one line on stderr)`, async () => {
    const { code, stdout, stderr } = await runCli(args);
    assert.equal(code, 2);
    assert.equal(stderr, `${message}\n`);
    assert.equal(stdout, "");
  });
}

Deno.test("deno.json's start and compile tasks use the program's one set of runtime flags", async () => {
  const { RUNTIME_FLAGS } = await import("../../lib/program/self.ts");
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  const flags = RUNTIME_FLAGS.join(" ");
  assert.ok(config.tasks.start.startsWith(`deno run ${flags} main.ts`), config.tasks.start);
  const compiles = config.tasks.compile.command.split("&&");
  assert.equal(compiles.length, 2);
  for (const compile of compiles) {
    assert.ok(compile.trim().startsWith(`deno compile ${flags} --include systemd `), compile);
    assert.ok(!/\s-A\s|--allow-all/.test(compile));
  }
});
