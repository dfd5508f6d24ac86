import assert from "node:assert/strict";
import { join } from "node:path";
import { createGitHub } from "../../lib/github/client.ts";
import { runCommand } from "../../lib/system/command.ts";
import { UpdateError } from "../../lib/update/release.ts";
import { generateSigningKey, renderSums, sha256Hex, sign } from "../../lib/update/signing.ts";
import { countStart, markHealthy, rollBack } from "../../lib/update/swap.ts";
import { selfUpdate, type UpdateRequest } from "../../lib/update/updater.ts";
import type { GitHubSimulator } from "../../lib/simulator/server.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

const REPO = "gh-as/autoscaler";
const KEY = await generateSigningKey();
const OTHER_KEY = await generateSigningKey();
const encoder = new TextEncoder();

/** A stand-in executable that answers `--version` like the program. */
const standIn = (version: string) => `#!/bin/sh\necho "autoscaler ${version}"\n`;

const IS_ROOT = new TextDecoder().decode(
  (await new Deno.Command("id", { args: ["-u"], stdout: "piped" }).output()).stdout,
).trim() === "0";

/** The assets of a release of `version`, signed with `key`, for x64. */
async function assets(version: string, options: { key?: string; binary?: string } = {}) {
  const binary = options.binary ?? standIn(version);
  const sums = renderSums({ "autoscaler-linux-x64": await sha256Hex(encoder.encode(binary)) });
  return {
    "autoscaler-linux-x64": binary,
    SHA256SUMS: sums,
    "SHA256SUMS.sig": `${await sign(options.key ?? KEY.privateKey, sums)}\n`,
  };
}

interface Install {
  dir: string;
  target: string;
  sim: GitHubSimulator;
  update(request?: Partial<UpdateRequest>, current?: string): ReturnType<typeof selfUpdate>;
  /** Asserts the current binary is exactly as installed and nothing else is in its directory. */
  assertUntouched(): Promise<void>;
}

/** A directory holding version `current` of the stand-in, and a simulator with `REPO`. */
async function withInstall(fn: (install: Install) => Promise<void>, current = "0.1.0") {
  await withSimulator(async (sim) => {
    sim.world.addRepo(REPO, { private: false });
    const dir = await Deno.makeTempDir({ prefix: "autoscaler-update-" });
    const target = join(dir, "autoscaler");
    await Deno.writeTextFile(target, standIn(current), { mode: 0o755 });
    try {
      await fn({
        dir,
        target,
        sim,
        update: (request = {}, version = current) =>
          selfUpdate({
            github: createGitHub(sim.url, { kind: "token", token: TOKEN }),
            run: runCommand,
            target,
            publicKey: KEY.publicKey,
            arch: "x64",
            currentVersion: version,
          }, { repo: REPO, ...request }),
        async assertUntouched() {
          assert.equal(await Deno.readTextFile(target), standIn(current));
          assert.equal((await Deno.stat(target)).mode! & 0o777, 0o755);
          const names = [];
          for await (const entry of Deno.readDir(dir)) names.push(entry.name);
          assert.deepEqual(names, ["autoscaler"], "no temporary or other file is left");
        },
      });
    } finally {
      await new Deno.Command("chattr", { args: ["-i", dir] }).output().catch(() => null);
      await Deno.remove(dir, { recursive: true });
    }
  });
}

async function rejects(promise: Promise<unknown>, message: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof UpdateError, String(error));
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("self-update installs a signed newer release, keeping the old one as .previous", async () => {
  await withInstall(async ({ sim, target, dir, update }) => {
    sim.world.addRelease(REPO, "v0.2.0", await assets("0.2.0"));
    assert.deepEqual(await update({ check: true }), {
      status: "available",
      from: "0.1.0",
      to: "0.2.0",
    });
    assert.equal(await Deno.readTextFile(target), standIn("0.1.0"), "--check changes nothing");
    assert.deepEqual(await update(), { status: "updated", from: "0.1.0", to: "0.2.0" });
    assert.equal(await Deno.readTextFile(target), standIn("0.2.0"));
    assert.equal((await Deno.stat(target)).mode! & 0o777, 0o755);
    assert.equal(await Deno.readTextFile(`${target}.previous`), standIn("0.1.0"));
    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assert.deepEqual(names.sort(), [
      "autoscaler",
      "autoscaler.previous",
      "autoscaler.update-state",
    ]);
    // The asset came through GitHub's redirects: API address, then download address, then object.
    assert.ok(sim.log.some((r) => /\/releases\/assets\/\d+$/.test(r.url) && r.status === 302));
    assert.ok(sim.log.some((r) => r.url.startsWith("/_downloads/") && r.status === 302));
    assert.ok(sim.log.some((r) => r.url.startsWith("/_objects/") && r.status === 200));
    await rollBack(target);
    assert.equal(await Deno.readTextFile(target), standIn("0.1.0"));
    assert.equal(await Deno.readTextFile(`${target}.previous`), standIn("0.2.0"));
  });
});

Deno.test("self-update never downgrades unless --to asks, and says when it is up to date", async () => {
  await withInstall(async ({ sim, target, update }) => {
    sim.world.addRelease(REPO, "v0.2.0", await assets("0.2.0"));
    assert.equal((await update()).status, "up-to-date");
    assert.equal(await Deno.readTextFile(target), standIn("0.3.0"));
    assert.deepEqual(await update({ to: "0.2.0" }), {
      status: "updated",
      from: "0.3.0",
      to: "0.2.0",
    });
    assert.equal(await Deno.readTextFile(target), standIn("0.2.0"));
  }, "0.3.0");
});

Deno.test("self-update takes a pre-release only with --prerelease", async () => {
  await withInstall(async ({ sim, update }) => {
    sim.world.addRelease(REPO, "v0.1.1", await assets("0.1.1"));
    sim.world.addRelease(REPO, "v0.2.0-rc.1", await assets("0.2.0-rc.1"), { prerelease: true });
    assert.equal((await update({ check: true })).to, "0.1.1");
    assert.equal((await update({ check: true, prerelease: true })).to, "0.2.0-rc.1");
  });
});

const FAILURES: [string, (sim: GitHubSimulator) => Promise<unknown>, RegExp][] = [
  ["no release at all", () => Promise.resolve(), /has no published release/],
  [
    "no asset for this architecture",
    async (sim) => {
      const { "autoscaler-linux-x64": binary, ...rest } = await assets("0.2.0");
      sim.world.addRelease(REPO, "v0.2.0", { ...rest, "autoscaler-linux-arm64": binary });
    },
    /has no autoscaler-linux-x64 for this host \(linux-x64\)/,
  ],
  [
    "a checksum that does not match",
    async (sim) => {
      const release = await assets("0.2.0");
      sim.world.addRelease(REPO, "v0.2.0", {
        ...release,
        "autoscaler-linux-x64": standIn("0.2.1"),
      });
    },
    /Checksum mismatch for autoscaler-linux-x64/,
  ],
  [
    "a flipped byte in SHA256SUMS",
    async (sim) => {
      const release = await assets("0.2.0");
      const sums = release.SHA256SUMS;
      const flipped = sums.slice(0, 5) + (sums[5] === "0" ? "1" : "0") + sums.slice(6);
      sim.world.addRelease(REPO, "v0.2.0", { ...release, SHA256SUMS: flipped });
    },
    /signature of SHA256SUMS in v0.2.0 does not verify/,
  ],
  [
    "a signature made by another key",
    async (sim) =>
      sim.world.addRelease(REPO, "v0.2.0", await assets("0.2.0", { key: OTHER_KEY.privateKey })),
    /does not verify with the release key/,
  ],
  [
    "no signature",
    async (sim) => {
      const { "SHA256SUMS.sig": _, ...unsigned } = await assets("0.2.0");
      sim.world.addRelease(REPO, "v0.2.0", unsigned);
    },
    /has no SHA256SUMS.sig: an unverifiable binary is not installed/,
  ],
  [
    "a truncated download",
    async (sim) => {
      sim.world.addRelease(REPO, "v0.2.0", await assets("0.2.0"));
      sim.downloadFaults.set("autoscaler-linux-x64", "short");
    },
    /Checksum mismatch/,
  ],
  [
    "a download that breaks off mid-way",
    async (sim) => {
      sim.world.addRelease(REPO, "v0.2.0", await assets("0.2.0"));
      sim.downloadFaults.set("autoscaler-linux-x64", "abort");
    },
    /download of autoscaler-linux-x64 broke off|Cannot download autoscaler-linux-x64/,
  ],
  [
    "a new binary that fails its --version check",
    async (sim) =>
      sim.world.addRelease(REPO, "v0.2.0", await assets("0.2.0", { binary: standIn("6.6.6") })),
    /does not run as version 0.2.0 \(it said: autoscaler 6.6.6\); kept the current one/,
  ],
];

for (const [name, setUp, message] of FAILURES) {
  Deno.test(`self-update with ${name} changes nothing and says why`, async () => {
    await withInstall(async (install) => {
      await setUp(install.sim);
      await rejects(install.update(), message);
      await install.assertUntouched();
    });
  });
}

Deno.test({
  name: "self-update into a directory it cannot write names the owner and changes nothing",
  ignore: !IS_ROOT,
  async fn() {
    await withInstall(async (install) => {
      install.sim.world.addRelease(REPO, "v0.2.0", await assets("0.2.0"));
      // Immutable: not even root may create a file there.
      assert.ok((await new Deno.Command("chattr", { args: ["+i", install.dir] }).output()).success);
      await rejects(
        install.update(),
        /Cannot write to .*: it belongs to root; run the update as that user/,
      );
      await new Deno.Command("chattr", { args: ["-i", install.dir] }).output();
      await install.assertUntouched();
    });
  },
});

Deno.test({
  name: "self-update on a full disk changes nothing and says why",
  ignore: !IS_ROOT,
  async fn() {
    await withInstall(async (install) => {
      const big = "#!/bin/sh\n" + "#".repeat(200_000) + '\necho "autoscaler 0.2.0"\n';
      install.sim.world.addRelease(REPO, "v0.2.0", await assets("0.2.0", { binary: big }));
      const mount = await new Deno.Command("mount", {
        args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", install.dir],
      }).output();
      assert.ok(mount.success, new TextDecoder().decode(mount.stderr));
      try {
        await Deno.writeTextFile(install.target, standIn("0.1.0"), { mode: 0o755 });
        await rejects(
          install.update(),
          /Cannot install the new binary in .*No space left on device/,
        );
        await install.assertUntouched();
      } finally {
        await new Deno.Command("umount", { args: [install.dir] }).output();
      }
    });
  },
});

Deno.test("a fresh update that keeps failing to come up is rolled back at the third start", async () => {
  await withInstall(async ({ sim, target, update }) => {
    sim.world.addRelease(REPO, "v0.2.0", await assets("0.2.0"));
    await update();
    assert.equal(await countStart(target, "0.2.0"), false);
    assert.equal(await countStart(target, "0.2.0"), false);
    assert.equal(await countStart(target, "0.2.0"), true);
    assert.equal(await Deno.readTextFile(target), standIn("0.1.0"));
  });
});

Deno.test("an update that ran a good cycle stays", async () => {
  await withInstall(async ({ sim, target, update }) => {
    sim.world.addRelease(REPO, "v0.2.0", await assets("0.2.0"));
    await update();
    await countStart(target, "0.2.0");
    await markHealthy(target);
    for (let i = 0; i < 5; i++) assert.equal(await countStart(target, "0.2.0"), false);
    assert.equal(await Deno.readTextFile(target), standIn("0.2.0"));
  });
});

Deno.test("the daemon's updater checks only when due, and waits an interval after a failure", async () => {
  const { AutoUpdater } = await import("../../lib/update/auto.ts");
  await withInstall(async ({ sim, target }) => {
    // The updater runs on the clock it is given; it starts from the real now, no calendar date.
    const start = new Date();
    const hour = 3_600_000;
    const updater = new AutoUpdater(
      {
        github: createGitHub(sim.url, { kind: "token", token: TOKEN }),
        run: runCommand,
        target,
        publicKey: KEY.publicKey,
        arch: "x64",
        currentVersion: "0.1.0",
      },
      REPO,
      6 * hour,
      start,
      () => 0.5,
    );
    assert.equal(updater.next.toISOString(), new Date(start.getTime() + 6 * hour).toISOString());
    assert.equal(await updater.tick(new Date(start.getTime() + 5 * hour)), false);
    assert.equal(sim.log.length, 0, "not due: no request");
    // Due, but the release is unsigned: logged, and the next try is a whole interval away.
    const { "SHA256SUMS.sig": _, ...unsigned } = await assets("0.2.0");
    sim.world.addRelease(REPO, "v0.2.0", unsigned);
    const due = new Date(start.getTime() + 6 * hour);
    assert.equal(await updater.tick(due), false);
    const asked = sim.log.length;
    assert.ok(asked > 0);
    assert.equal(await updater.tick(new Date(due.getTime() + 1000)), false);
    assert.equal(sim.log.length, asked, "no tight loop after a failure");
    assert.equal(await Deno.readTextFile(target), standIn("0.1.0"));
    sim.world.addRelease(REPO, "v0.3.0", await assets("0.3.0"));
    assert.equal(await updater.tick(new Date(due.getTime() + 6 * hour)), true);
    assert.equal(await Deno.readTextFile(target), standIn("0.3.0"));
  });
});
