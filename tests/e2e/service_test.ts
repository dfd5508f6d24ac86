import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { makeFakeBin } from "../helpers/fake_bin.ts";
import { TOKEN as SIM_TOKEN, withSimulator } from "../helpers/sim.ts";
import { scaleSetClient } from "../helpers/scale_set_daemon.ts";
import { ScaleSetRecord } from "../../lib/daemon/scale_set_record.ts";

const TOKEN = "ghp_" + "S".repeat(36);

/** Fake systemctl, journalctl and loginctl that record their arguments in $CALLS. */
function recording(exitCode = 0, say = ""): string {
  return `printf '%s\\n' "$(basename "$0") $*" >> "$CALLS"\n${say}\nexit ${exitCode}`;
}

interface Sandbox {
  home: string;
  calls: string;
  bin: string;
  run(args: string[], env?: Record<string, string>): ReturnType<typeof runCli>;
  recorded(): Promise<string[]>;
}

/** A temporary HOME and fake systemd tools for one test; removed afterwards. */
async function withSandbox(
  tools: Record<string, string>,
  fn: (box: Sandbox) => Promise<void>,
): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "autoscaler-home-" });
  const calls = join(home, "calls");
  const bin = await makeFakeBin({
    systemctl: recording(),
    journalctl: recording(0, 'echo "-- No entries --"'),
    loginctl: recording(0, "echo no"),
    ...tools,
  });
  const box: Sandbox = {
    home,
    calls,
    bin,
    run: (args, env = {}) =>
      runCli(args, {
        pathPrefix: bin,
        env: { HOME: home, USER: "octo", CALLS: calls, GH_CONFIG_DIR: home, ...env },
      }),
    recorded: async () =>
      (await Deno.readTextFile(calls).catch(() => "")).split("\n").filter((line) => line !== ""),
  };
  try {
    await fn(box);
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(bin, { recursive: true });
  }
}

const unitPath = (home: string) => join(home, ".config/systemd/user/github-autoscaler.service");
const envPath = (home: string) => join(home, ".config/github-autoscaler/env");

Deno.test("install-service --user writes the unit and a 0600 token file, then enables it", async () => {
  await withSandbox({}, async (box) => {
    const { code, stdout, stderr } = await box.run(
      [
        "install-service",
        "--user",
        "--owner",
        "acme",
        "--labels",
        "big-ram,gpu",
        "--api-url",
        "http://127.0.0.1:8080/a%20b",
      ],
      { GH_TOKEN: TOKEN },
    );
    assert.equal(code, 0, stderr);
    const unit = await Deno.readTextFile(unitPath(box.home));
    assert.match(unit, /^# Written by github-autoscaler/);
    assert.match(
      unit,
      /^ExecStart="[^"]+" "run" "--allow-read" .* "[^"]+\/main\.ts" "run" "--owner=acme" "--labels=big-ram,gpu" "--api-url=http:\/\/127\.0\.0\.1:8080\/a%%20b"$/m,
    );
    assert.match(unit, new RegExp(`^EnvironmentFile=${envPath(box.home)}$`, "m"));
    assert.ok(!unit.includes(TOKEN), "the token is not in the unit");
    // The unit as written, whose ExecStart starts with this deno, passes systemd's own check.
    const verify = await new Deno.Command("systemd-analyze", {
      args: ["verify", unitPath(box.home)],
    }).output();
    assert.equal(verify.code, 0);
    assert.equal(new TextDecoder().decode(verify.stderr), "");
    assert.equal(await Deno.readTextFile(envPath(box.home)), `GH_TOKEN=${TOKEN}\n`);
    assert.equal((await Deno.stat(envPath(box.home))).mode! & 0o777, 0o600);
    assert.deepEqual(await box.recorded(), [
      "systemctl --user daemon-reload",
      "systemctl --user enable --now github-autoscaler.service",
      "loginctl show-user octo --property=Linger --value",
    ]);
    assert.match(stdout, /sudo loginctl enable-linger octo/);
    assert.ok(!stdout.includes(TOKEN) && !stderr.includes(TOKEN));
  });
});

Deno.test("install-service --dry-run shows the files and calls and changes nothing", async () => {
  await withSandbox({}, async (box) => {
    const { code, stdout } = await box.run(["install-service", "--dry-run"], { GH_TOKEN: TOKEN });
    assert.equal(code, 0);
    assert.match(stdout, new RegExp(`^Would write ${unitPath(box.home)}:$`, "m"));
    assert.match(stdout, /^GH_TOKEN=<the token, 40 characters>$/m);
    assert.match(
      stdout,
      /^Would run: systemctl --user daemon-reload; systemctl --user enable --now/m,
    );
    assert.ok(!stdout.includes(TOKEN));
    await assert.rejects(Deno.stat(unitPath(box.home)), Deno.errors.NotFound);
    assert.deepEqual(await box.recorded(), []);
  });
});

Deno.test("a failing systemctl is a clear error and leaves no unit behind", async () => {
  await withSandbox(
    { systemctl: recording(1, 'echo "Failed to connect to bus: No medium found" >&2') },
    async (box) => {
      const { code, stderr } = await box.run(["install-service"], { GH_TOKEN: TOKEN });
      assert.equal(code, 1);
      assert.equal(
        stderr,
        "error: install-service failed: systemctl --user daemon-reload failed: systemctl exited " +
          "with code 1: Failed to connect to bus: No medium found; nothing was installed\n",
      );
      await assert.rejects(Deno.stat(unitPath(box.home)), Deno.errors.NotFound);
      await assert.rejects(Deno.stat(envPath(box.home)), Deno.errors.NotFound);
    },
  );
});

Deno.test("install-service updates its own unit, and replaces a foreign one only with --force", async () => {
  await withSandbox({}, async (box) => {
    await Deno.mkdir(join(box.home, ".config/systemd/user"), { recursive: true });
    await Deno.writeTextFile(unitPath(box.home), "[Service]\nExecStart=/bin/true\n");
    const refused = await box.run(["install-service"], { GH_TOKEN: TOKEN });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /exists and was not written by github-autoscaler; use --force/);
    assert.equal(await Deno.readTextFile(unitPath(box.home)), "[Service]\nExecStart=/bin/true\n");
    assert.equal((await box.run(["install-service", "--force"], { GH_TOKEN: TOKEN })).code, 0);
    const again = await box.run(["install-service", "--owner", "other"], { GH_TOKEN: TOKEN });
    assert.equal(again.code, 0, again.stderr);
    assert.match(await Deno.readTextFile(unitPath(box.home)), /"run" "--owner=other"$/m);
  });
});

Deno.test("install-service without a token says how to get one, or writes none with --no-token-file", async () => {
  await withSandbox({}, async (box) => {
    const missing = await box.run(["install-service"]);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /No GitHub token: set GH_TOKEN or GITHUB_TOKEN, or run `gh auth login`/,
    );
    await assert.rejects(Deno.stat(unitPath(box.home)), Deno.errors.NotFound);
    const bare = await box.run(["install-service", "--no-token-file"]);
    assert.equal(bare.code, 0, bare.stderr);
    assert.ok(!(await Deno.readTextFile(unitPath(box.home))).includes("EnvironmentFile="));
    await assert.rejects(Deno.stat(envPath(box.home)), Deno.errors.NotFound);
  });
});

Deno.test("reinstalling with --no-token-file removes the token file written before, and says so", async () => {
  await withSandbox({}, async (box) => {
    const dest = join(box.home, "pkg");
    const unit = join(dest, "etc/systemd/system/github-autoscaler.service");
    const envFile = join(dest, "etc/github-autoscaler/env");
    const install = (...args: string[]) =>
      box.run(["install-service", "--system", "--destdir", dest, ...args], { GH_TOKEN: TOKEN });
    assert.equal((await install()).code, 0);
    assert.equal(await Deno.readTextFile(envFile), `GH_TOKEN=${TOKEN}\n`);
    const dry = await install("--no-token-file", "--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`^Would remove ${envFile}, the token file`, "m"));
    assert.equal(await Deno.readTextFile(envFile), `GH_TOKEN=${TOKEN}\n`, "dry run keeps it");
    const { code, stdout, stderr } = await install("--no-token-file");
    assert.equal(code, 0, stderr);
    await assert.rejects(Deno.stat(envFile), Deno.errors.NotFound);
    assert.doesNotMatch(await Deno.readTextFile(unit), /EnvironmentFile=/);
    assert.match(stdout, new RegExp(`^Removed ${envFile}, the token file`, "m"));
    assert.deepEqual(await box.recorded(), []);
  });
});

Deno.test("--no-token-file leaves alone an environment file the old unit did not name", async () => {
  await withSandbox({}, async (box) => {
    // The user's own file, for a unit installed with --no-token-file (or not ours at all).
    await Deno.mkdir(join(box.home, ".config/github-autoscaler"), { recursive: true });
    await Deno.writeTextFile(envPath(box.home), "GH_TOKEN=mine\n");
    // Installed, then reinstalled over a unit of ours that names no environment file.
    for (let i = 0; i < 2; i++) {
      const { code, stdout, stderr } = await box.run(["install-service", "--no-token-file"]);
      assert.equal(code, 0, stderr);
      assert.doesNotMatch(stdout, /Removed/);
    }
    assert.equal(await Deno.readTextFile(envPath(box.home)), "GH_TOKEN=mine\n");
  });
});

Deno.test("a failing systemctl after --no-token-file puts the token file back", async () => {
  await withSandbox({}, async (box) => {
    assert.equal((await box.run(["install-service"], { GH_TOKEN: TOKEN })).code, 0);
    const before = await Deno.readTextFile(unitPath(box.home));
    await Deno.writeTextFile(
      join(box.bin, "systemctl"),
      `#!/bin/sh\n${recording(1, 'echo "Failed to connect to bus" >&2')}\n`,
    );
    const { code, stderr } = await box.run(["install-service", "--no-token-file"]);
    assert.equal(code, 1);
    assert.match(stderr, /the previous unit was restored/);
    assert.equal(await Deno.readTextFile(unitPath(box.home)), before);
    assert.equal(await Deno.readTextFile(envPath(box.home)), `GH_TOKEN=${TOKEN}\n`);
    assert.equal((await Deno.stat(envPath(box.home))).mode! & 0o777, 0o600);
  });
});

Deno.test("install-service --system --destdir writes below DIR and calls no systemctl", async () => {
  await withSandbox({}, async (box) => {
    const dest = join(box.home, "pkg");
    const { code, stdout, stderr } = await box.run(
      ["install-service", "--system", "--destdir", dest, "--repo", "acme/app"],
      { GH_TOKEN: TOKEN },
    );
    assert.equal(code, 0, stderr);
    const unit = await Deno.readTextFile(
      join(dest, "etc/systemd/system/github-autoscaler.service"),
    );
    assert.match(unit, /^EnvironmentFile=\/etc\/github-autoscaler\/env$/m);
    assert.match(unit, /^DynamicUser=yes$/m);
    assert.match(unit, /^SupplementaryGroups=docker$/m);
    assert.match(unit, /^WantedBy=multi-user.target$/m);
    assert.equal((await Deno.stat(join(dest, "etc/github-autoscaler/env"))).mode! & 0o777, 0o600);
    assert.match(stdout, /Not enabled: written below/);
    assert.deepEqual(await box.recorded(), []);
  });
});

Deno.test("uninstall-service stops, disables and removes", async () => {
  await withSandbox({}, async (box) => {
    assert.equal((await box.run(["install-service"], { GH_TOKEN: TOKEN })).code, 0);
    await Deno.writeTextFile(box.calls, "");
    const { code, stdout } = await box.run(["uninstall-service"]);
    assert.equal(code, 0);
    assert.match(stdout, /^Removed /);
    await assert.rejects(Deno.stat(unitPath(box.home)), Deno.errors.NotFound);
    await assert.rejects(Deno.stat(envPath(box.home)), Deno.errors.NotFound);
    assert.deepEqual(await box.recorded(), [
      "systemctl --user disable --now github-autoscaler.service",
      "systemctl --user daemon-reload",
    ]);
    const again = await box.run(["uninstall-service"]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /^No github-autoscaler.service at /);
  });
});

Deno.test("service start|stop|restart|status|logs call systemctl and journalctl", async () => {
  await withSandbox({}, async (box) => {
    for (const args of [["start"], ["stop"], ["restart"], ["status", "--system"], ["logs", "-f"]]) {
      const { code, stderr } = await box.run(["service", ...args]);
      assert.equal(code, 0, stderr);
    }
    assert.deepEqual(await box.recorded(), [
      "systemctl --user start github-autoscaler.service",
      "systemctl --user stop github-autoscaler.service",
      "systemctl --user restart github-autoscaler.service",
      "systemctl status github-autoscaler.service",
      "journalctl --user --unit github-autoscaler.service --follow",
    ]);
    const bad = await box.run(["service", "reload"]);
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /Unknown service action "reload": use one of start, stop, restart, status, logs/,
    );
  });
});

Deno.test("service status of a stopped service shows systemctl's words and exits 1", async () => {
  await withSandbox(
    { systemctl: recording(3, 'echo "Active: inactive (dead)"') },
    async (box) => {
      const { code, stdout } = await box.run(["service", "status"]);
      assert.equal(code, 1);
      assert.match(stdout, /Active: inactive \(dead\)/);
    },
  );
});

Deno.test("a service with --state-dir may write it, and uninstall-service finds its scale sets there", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("acme/app", { org: true });
    await withSandbox({}, async (box) => {
      const state = join(box.home, "host b");
      const flags = ["--mode", "scaleset", "--owner", "acme", "--state-dir", state];
      const dry = await box.run(["install-service", "--dry-run", ...flags], { GH_TOKEN: TOKEN });
      assert.equal(dry.code, 2, "a path with a space cannot be a ReadWritePaths=");
      assert.match(dry.stderr, /Cannot name ".*host b" in ReadWritePaths=/);
      const dir = join(box.home, "host-b");
      flags[flags.length - 1] = dir;
      const installed = await box.run(["install-service", ...flags], { GH_TOKEN: TOKEN });
      assert.equal(installed.code, 0, installed.stderr);
      const unit = await Deno.readTextFile(unitPath(box.home));
      assert.match(unit, new RegExp(`^ReadWritePaths=${dir}$`, "m"));
      assert.match(unit, new RegExp(`"--state-dir=${dir}"`));
      // The daemon made a scale set and recorded it there.
      const set = await scaleSetClient(sim).createScaleSet({
        name: "autoscaler-h-0000beef-cpu",
        runnerGroupId: 1,
        labels: ["self-hosted"],
      });
      await new ScaleSetRecord(dir).update({
        apiUrl: sim.url,
        org: "acme",
        kind: "cpu",
        id: set.id,
        name: set.name,
        sessionId: null,
        opening: false,
      });
      await Deno.writeTextFile(join(dir, "host-id"), "0000beef\n");
      const removed = await box.run(["uninstall-service"], { GH_TOKEN: TOKEN });
      assert.equal(removed.code, 0, removed.stderr);
      assert.match(
        removed.stdout,
        /^Deleted runner scale set autoscaler-h-0000beef-cpu \(id \d+\) of acme$/m,
      );
      assert.equal(sim.scaleSets.scaleSets.length, 0);
      assert.deepEqual(await new ScaleSetRecord(dir).entries(), []);
    });
  }, { tokens: [TOKEN, SIM_TOKEN] });
});
