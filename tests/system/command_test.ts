import assert from "node:assert/strict";
import { join } from "node:path";
import { runCommand, toolResult } from "../../lib/system/command.ts";
import { hostFiles } from "../../lib/system/files.ts";
import { HANGS, makeFakeBin } from "../helpers/fake_bin.ts";

Deno.test("runCommand reports exit code and output of a failing tool", async () => {
  const bin = await makeFakeBin({ tool: 'echo "partial"\necho "it broke" >&2\nexit 9' });
  try {
    const outcome = await runCommand(join(bin, "tool"), []);
    assert.deepEqual(outcome, {
      kind: "exited",
      code: 9,
      stdout: "partial\n",
      stderr: "it broke\n",
    });
    assert.deepEqual(toolResult("tool", outcome), {
      ok: false,
      reason: "tool exited with code 9: it broke",
    });
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});

Deno.test("runCommand says when a tool is not on PATH", async () => {
  const outcome = await runCommand("autoscaler-no-such-tool", []);
  assert.deepEqual(outcome, { kind: "not-found" });
  assert.deepEqual(toolResult("autoscaler-no-such-tool", outcome), {
    ok: false,
    reason: "autoscaler-no-such-tool not found on PATH",
  });
});

Deno.test("runCommand gives up on a hung tool, even one whose child holds the pipes", async () => {
  // The script's `sleep` child keeps stdout open after the script itself is killed.
  const bin = await makeFakeBin({ hangs: HANGS, forks: "sleep 60\necho never" });
  try {
    for (const name of ["hangs", "forks"]) {
      const outcome = await runCommand(join(bin, name), [], { timeoutMs: 300 });
      assert.deepEqual(outcome, { kind: "timed-out", timeoutMs: 300 });
    }
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});

Deno.test("toolResult names the reason from stdout when stderr is empty, without colours", () => {
  assert.deepEqual(
    toolResult("rocminfo", {
      kind: "exited",
      code: 1,
      stdout: "\x1b[31mROCk module is NOT loaded, possibly no GPU devices\x1b[0m\n",
      stderr: "",
    }),
    {
      ok: false,
      reason: "rocminfo exited with code 1: ROCk module is NOT loaded, possibly no GPU devices",
    },
  );
});

Deno.test("hostFiles reads the real /proc and /sys without --allow-all (through cat and ls)", async () => {
  const files = hostFiles("/", runCommand);
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch((error) => error);
  assert.ok(meminfo instanceof Deno.errors.NotCapable, "the tests run without --allow-all");
  assert.match((await files.readText("proc/meminfo")) ?? "", /^MemTotal:\s+\d+ kB$/m);
  assert.ok((await files.list("proc/self")).includes("status"));
  assert.equal(await files.readText("proc/no-such-file"), null);
  assert.deepEqual(await files.list("sys/no-such-dir"), []);
});
