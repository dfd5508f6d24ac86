import assert from "node:assert/strict";
import { join } from "node:path";
import { CacheVolumes, parseSize } from "../../lib/runners/cache_volumes.ts";
import { runnerPrefix } from "../../lib/commands/setup.ts";
import { runCommand } from "../../lib/system/command.ts";
import { cacheVolumesOf, docker, engineTest, waitFor } from "../helpers/engine_runs.ts";
import { LABEL } from "../../lib/runners/docker.ts";
import { makeFakeBin } from "../helpers/fake_bin.ts";
import { TEST_HOST_ID } from "../helpers/cli.ts";
import { TEST_IMAGE } from "../helpers/runner_image.ts";

const DAY = 86_400_000;

/**
 * The docker CLI behind a script of the test's (`body`, given the real docker's path), as a
 * `CommandRunner`; `remove` deletes the script.
 */
async function wrappedDocker(body: (real: string) => string) {
  const real = new TextDecoder().decode(
    (await new Deno.Command("sh", { args: ["-c", "command -v docker"], stdout: "piped" })
      .output()).stdout,
  ).trim();
  const bin = await makeFakeBin({ docker: body(real) });
  const run: typeof runCommand = (command, args, options) =>
    runCommand(command === "docker" ? join(bin, "docker") : command, args, options);
  return { run, remove: () => Deno.remove(bin, { recursive: true }) };
}

engineTest(
  "cache volumes: a slot being pruned is not handed to a runner that starts meanwhile",
  async (_sim, prefix) => {
    const dir = await Deno.makeTempDir();
    // A docker whose `volume rm` waits for the test to let it go.
    const wrapped = await wrappedDocker((real) =>
      `if [ "$1 $2" = "volume rm" ]; then
  touch '${dir}/removing'
  while [ ! -e '${dir}/go' ]; do sleep 0.05; done
fi
exec '${real}' "$@"`
    );
    const volumes = new CacheVolumes(
      wrapped.run,
      runnerPrefix(Deno.hostname(), TEST_HOST_ID, prefix),
      TEST_HOST_ID,
      dir,
      30_000,
    );
    try {
      const old = await volumes.claim(
        "repo:acme/app",
        ["tool"],
        new Set(),
        TEST_IMAGE,
        new Date(0),
      );
      old.release();
      assert.equal(old.slot, 0);
      // Unused for decades: the prune removes it, and is held in its `docker volume rm`.
      const pruning = volumes.prune(
        { maxKeyBytes: 1e12, maxTotalBytes: 1e12, maxAgeMs: 7 * DAY },
        new Date(),
      );
      await waitFor(
        "the prune removing slot 0",
        () => Deno.stat(`${dir}/removing`).then(() => true, () => false),
      );
      const started = await volumes.claim(
        "repo:acme/app",
        ["tool"],
        new Set(),
        TEST_IMAGE,
        new Date(),
      );
      await Deno.writeTextFile(`${dir}/go`, "");
      assert.deepEqual((await pruning).removed.map((e) => e.slot), [0]);
      assert.equal(started.slot, 1, "the slot being removed was handed out");
      assert.equal(started.hit, false);
      started.release();
      const left = await cacheVolumesOf(prefix);
      assert.equal(left.length, 1);
      assert.match(left[0]!, /-cache-acme-app-[0-9a-f]{16}-1-tool$/);
    } finally {
      await Deno.remove(dir, { recursive: true });
      await wrapped.remove();
    }
  },
);

engineTest(
  "cache volumes: a volume is a cache's by its labels, not its name: one of that name that is " +
    "another cache's, or no cache's, is refused",
  async (_sim, prefix) => {
    const dir = await Deno.makeTempDir();
    const owner = runnerPrefix(Deno.hostname(), TEST_HOST_ID, prefix);
    const volumes = new CacheVolumes(runCommand, owner, TEST_HOST_ID, dir, 30_000);
    const label = (name: string, value: string) => ["--label", `${LABEL}.${name}=${value}`];
    // Unlabelled, so the tests' clean-up (by label) would not find it.
    const bare = volumes.volumeName("repo:acme/web", 0, "tool");
    try {
      // Another repository's slot under this one's name (as a hash collision would make it).
      await docker(
        "volume",
        "create",
        ...label("cache-owner", owner),
        ...label("cache-key", "repo:acme/other"),
        ...label("cache-slot", "0"),
        ...label("cache-kind", "tool"),
        volumes.volumeName("repo:acme/app", 0, "tool"),
      );
      // A volume `docker run` made under a cache's name, with no labels.
      await docker("volume", "create", bare);
      for (const key of ["repo:acme/app", "repo:acme/web"]) {
        await assert.rejects(
          volumes.claim(key, ["tool"], new Set(), TEST_IMAGE, new Date()),
          /Cannot use cache volume \S+: a volume of that name that is not this cache's is there/,
        );
      }
      // Keys that read alike have volumes of their own.
      const names = ["repo:acme/app-x", "repo:acme/app_x"].map((key) =>
        volumes.volumeName(key, 0, "tool")
      );
      assert.notEqual(names[0], names[1]);
    } finally {
      await docker("volume", "rm", "--force", bare);
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("cache volumes: Docker's sizes (decimal units, 4 digits) read as bytes", () => {
  assert.deepEqual(
    ["0B", "512B", "1.234kB", "600kB", "12.5MB", "3GB", "N/A", ""].map(parseSize),
    [0, 512, 1234, 600_000, 12_500_000, 3e9, 0, 0],
  );
});

engineTest(
  "cache volumes: when Docker cannot measure the volumes, a prune still removes what is past its age",
  async (_sim, prefix) => {
    const dir = await Deno.makeTempDir();
    // A docker whose `system df` fails, as one that times out on a large host does.
    const wrapped = await wrappedDocker((real) =>
      `[ "$1" = system ] && { echo "Error response from daemon: busy" >&2; exit 1; }
exec '${real}' "$@"`
    );
    const owner = runnerPrefix(Deno.hostname(), TEST_HOST_ID, prefix);
    const volumes = new CacheVolumes(wrapped.run, owner, TEST_HOST_ID, dir, 30_000);
    try {
      const now = Date.now();
      for (const daysAgo of [30, 1]) {
        const claimed = await volumes.claim(
          `repo:acme/app${daysAgo}`,
          ["tool"],
          new Set(),
          TEST_IMAGE,
          new Date(now - daysAgo * DAY),
        );
        claimed.release();
      }
      const { removed } = await volumes.prune(
        { maxKeyBytes: 1, maxTotalBytes: 1, maxAgeMs: 7 * DAY },
        new Date(now),
      );
      assert.deepEqual(removed.map((e) => `${e.key} ${e.reason}`), ["repo:acme/app30 age"]);
      assert.equal((await cacheVolumesOf(prefix)).length, 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
      await wrapped.remove();
    }
  },
);
