import assert from "node:assert/strict";
import { join } from "node:path";
import { runCommand } from "../../lib/system/command.ts";
import { UpdateError } from "../../lib/update/release.ts";
import { previousOf, replaceBinary, rollBack, type SwapFs } from "../../lib/update/swap.ts";

const encoder = new TextEncoder();

/** A stand-in executable that answers `--version` like the program. */
const standIn = (version: string) => `#!/bin/sh\necho "autoscaler ${version}"\n`;

/** What `target --version` says, or "missing" when there is nothing to run there. */
async function versionOf(target: string): Promise<string> {
  try {
    const output = await new Deno.Command(target, { args: ["--version"] }).output();
    return new TextDecoder().decode(output.stdout).trim() || `exit ${output.code}`;
  } catch (error) {
    return error instanceof Deno.errors.NotFound ? "missing" : String(error);
  }
}

/**
 * File operations that, after each step, note what the binary path runs as: what a kill at that
 * instant would leave for systemd to start. Step number `failAt` (from 0) fails instead of running.
 */
function watching(target: string, failAt = -1) {
  const seen: string[] = [];
  let steps = 0;
  const wrap = <A extends unknown[]>(name: string, op: (...args: A) => Promise<void>) =>
  async (
    ...args: A
  ) => {
    if (steps++ === failAt) throw new Error(`injected failure of ${name}`);
    await op(...args);
    seen.push(`after ${name}: ${await versionOf(target)}`);
  };
  const fs: SwapFs = {
    link: wrap("link", Deno.link),
    copyFile: wrap("copyFile", Deno.copyFile),
    rename: wrap("rename", Deno.rename),
  };
  return { fs, seen, steps: () => steps };
}

/** Asserts every noted state ran as one of `versions`. */
function assertAlwaysRunnable(seen: string[], versions: string[]) {
  const allowed = versions.map((version) => `autoscaler ${version}`);
  for (const state of seen) {
    assert.ok(allowed.some((said) => state.endsWith(`: ${said}`)), `${state} in ${seen}`);
  }
}

async function namesIn(dir: string): Promise<string[]> {
  const names = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

/** A directory holding version 0.1.0 of the stand-in (and, with `previous`, a `.previous`). */
async function withBinary(
  fn: (target: string, dir: string) => Promise<void>,
  previous?: string,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "autoscaler-swap-" });
  const target = join(dir, "autoscaler");
  await Deno.writeTextFile(target, standIn("0.1.0"), { mode: 0o755 });
  if (previous) await Deno.writeTextFile(previousOf(target), standIn(previous), { mode: 0o755 });
  try {
    await fn(target, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const update = (target: string, fs: SwapFs) =>
  replaceBinary(runCommand, target, encoder.encode(standIn("0.2.0")), "0.2.0", fs);

Deno.test("at every step of an update the binary path runs the old or the new version", async () => {
  await withBinary(async (target, dir) => {
    const { fs, seen } = watching(target);
    await update(target, fs);
    assert.ok(seen.length > 0);
    assertAlwaysRunnable(seen, ["0.1.0", "0.2.0"]);
    assert.equal(await versionOf(target), "autoscaler 0.2.0");
    assert.equal(await versionOf(previousOf(target)), "autoscaler 0.1.0");
    assert.equal((await Deno.stat(target)).mode! & 0o777, 0o755);
    assert.deepEqual(await namesIn(dir), ["autoscaler", "autoscaler.previous"]);
  }, "0.0.9");
});

/**
 * Runs `attempt` on a fresh binary (0.1.0, its previous 0.0.9) with a failure injected at step 0,
 * then 1, and so on, until a pass ran all its steps without one; `attempt` returns how many it ran.
 */
async function failingEachStep(
  attempt: (target: string, dir: string, failAt: number) => Promise<number>,
): Promise<void> {
  for (let failAt = 0;; failAt++) {
    let ran = 0;
    await withBinary(async (target, dir) => {
      ran = await attempt(target, dir, failAt);
    }, "0.0.9");
    if (failAt >= ran) break;
  }
}

Deno.test("an update whose step fails keeps the current binary in place and leaves no litter", async () => {
  await failingEachStep(async (target, dir, failAt) => {
    const watch = watching(target, failAt);
    const outcome = await update(target, watch.fs).then(() => null, (error) => error);
    const ran = watch.steps();
    assertAlwaysRunnable(watch.seen, ["0.1.0", "0.2.0"]);
    if (outcome === null) {
      // Besides the last pass (nothing failed), only a failed hard link, which a copy stands
      // in for, lets the update go on.
      const copied = watch.seen.some((state) => state.startsWith("after copyFile"));
      assert.ok(failAt >= ran || copied, `step ${failAt}`);
      assert.equal(await versionOf(target), "autoscaler 0.2.0");
      assert.equal(await versionOf(previousOf(target)), "autoscaler 0.1.0");
    } else {
      assert.ok(outcome instanceof UpdateError, String(outcome));
      assert.match(outcome.message, /injected failure/);
      assert.equal(await versionOf(target), "autoscaler 0.1.0", `step ${failAt}`);
    }
    assert.deepEqual(await namesIn(dir), ["autoscaler", "autoscaler.previous"], "no litter");
    return ran;
  });
});

Deno.test("an update keeps the previous version by copy where a hard link is refused", async () => {
  await withBinary(async (target) => {
    const fs: SwapFs = {
      ...Deno,
      link: () => Promise.reject(new Deno.errors.PermissionDenied("no hard links here")),
    };
    await update(target, fs);
    assert.equal(await versionOf(target), "autoscaler 0.2.0");
    assert.equal(await versionOf(previousOf(target)), "autoscaler 0.1.0");
  });
});

Deno.test("at every step of a rollback the binary path runs one of the two versions", async () => {
  await withBinary(async (target, dir) => {
    const { fs, seen } = watching(target);
    await rollBack(target, fs);
    assert.ok(seen.length > 0);
    assertAlwaysRunnable(seen, ["0.1.0", "0.0.9"]);
    assert.equal(await versionOf(target), "autoscaler 0.0.9");
    assert.equal(await versionOf(previousOf(target)), "autoscaler 0.1.0");
    assert.deepEqual(await namesIn(dir), ["autoscaler", "autoscaler.previous"]);
  }, "0.0.9");
});

Deno.test("a rollback whose step fails keeps the current binary in place", async () => {
  await failingEachStep(async (target, dir, failAt) => {
    const watch = watching(target, failAt);
    const outcome = await rollBack(target, watch.fs).then(() => null, (error) => error);
    const ran = watch.steps();
    assertAlwaysRunnable(watch.seen, ["0.1.0", "0.0.9"]);
    if (outcome === null) {
      assert.equal(await versionOf(target), "autoscaler 0.0.9", `step ${failAt}`);
    } else {
      assert.ok(outcome instanceof UpdateError, String(outcome));
      assert.match(outcome.message, /^Cannot roll back: .*injected failure/);
      assert.equal(await versionOf(target), "autoscaler 0.1.0", `step ${failAt}`);
      // The version to go back to is still there for another try.
      assert.equal(await versionOf(previousOf(target)), "autoscaler 0.0.9", `step ${failAt}`);
    }
    assert.deepEqual(await namesIn(dir), ["autoscaler", "autoscaler.previous"]);
    return ran;
  });
});
