import assert from "node:assert/strict";
import { launcherCommand, settingsFile } from "../../lib/runners/launcher.ts";

/** Runs the launcher's script with sh in a folder standing in for the container. */
async function launch(mode: "jit" | "config", settings: string | null) {
  const root = await Deno.makeTempDir();
  try {
    const home = `${root}/home`;
    await Deno.mkdir(home);
    // Stand-ins for the runner's scripts: they print what they were given.
    await Deno.writeTextFile(
      `${home}/run.sh`,
      '#!/bin/sh\necho "run: ${ACTIONS_RUNNER_INPUT_JITCONFIG:-} token=${ACTIONS_RUNNER_INPUT_TOKEN:-}"\n',
    );
    await Deno.writeTextFile(
      `${home}/config.sh`,
      '#!/bin/sh\necho "config: $* token=$ACTIONS_RUNNER_INPUT_TOKEN name=$ACTIONS_RUNNER_INPUT_NAME"\n',
    );
    for (const script of ["run.sh", "config.sh"]) await Deno.chmod(`${home}/${script}`, 0o755);
    if (settings !== null) await Deno.writeTextFile(`${root}/settings`, settings);
    const [, , script] = launcherCommand(mode);
    const local = script!.replaceAll("/run/autoscaler", root).replaceAll("/home/runner", home)
      // A launcher without settings gives up after 120 s; here after a tenth of a second.
      .replace("-gt 1200", "-gt 1");
    const output = await new Deno.Command("sh", {
      args: ["-c", local],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const left = await Deno.stat(`${root}/settings`).then(() => true, () => false);
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
      left,
    };
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("the launcher takes a JIT config from its settings file, deletes it, and runs run.sh", async () => {
  const result = await launch("jit", settingsFile({ ACTIONS_RUNNER_INPUT_JITCONFIG: "ZW5j'b2Rl" }));
  assert.equal(result.stdout, "run: ZW5j'b2Rl token=\n", result.stderr);
  assert.equal(result.left, false, "the settings file is deleted");
});

Deno.test("with a registration token, config.sh spends it and run.sh starts without it", async () => {
  const result = await launch(
    "config",
    settingsFile({ ACTIONS_RUNNER_INPUT_TOKEN: "AABBCC", ACTIONS_RUNNER_INPUT_NAME: "r-1" }),
  );
  assert.equal(
    result.stdout,
    "config: --unattended --ephemeral --disableupdate token=AABBCC name=r-1\nrun:  token=\n",
    result.stderr,
  );
});

Deno.test("a launcher whose settings never arrive gives up with a reason (exit 70)", async () => {
  const result = await launch("jit", null);
  assert.equal(result.code, 70);
  assert.match(result.stderr, /no runner settings arrived within 120 s/);
});

Deno.test("settingsFile refuses a name the shell would not read as a variable", () => {
  assert.throws(() => settingsFile({ "A;rm -rf /": "x" }), /Not a variable name/);
});
