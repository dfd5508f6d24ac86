import assert from "node:assert/strict";
import {
  type EngineSecurity,
  nestedEngine,
  profileLabels,
  profileRefusal,
} from "../../lib/core/runner_profiles.ts";
import { parseEngineSecurity } from "../../lib/system/docker_engine.ts";

const ROOTFUL: EngineSecurity = {
  usernsRemap: false,
  rootless: false,
  runtimes: ["runc"],
  cgroupVersion: 2,
};

Deno.test("a profile's labels claim only what its runners can do", () => {
  assert.deepEqual(profileLabels("hardened"), []);
  assert.deepEqual(profileLabels("sudo"), ["sudo"]);
  assert.deepEqual(profileLabels("docker"), ["sudo", "docker"]);
});

Deno.test("sudo is refused, with the fix, where container root is the host's root", () => {
  assert.match(
    profileRefusal("sudo", ROOTFUL)!,
    /neither userns nor rootless\): add "userns-remap"/,
  );
  assert.equal(profileRefusal("sudo", { ...ROOTFUL, usernsRemap: true }), null);
  assert.equal(profileRefusal("sudo", { ...ROOTFUL, rootless: true }), null);
  assert.equal(profileRefusal("hardened", ROOTFUL), null);
});

Deno.test("docker needs sysbox or a rootless engine, and prefers sysbox", () => {
  assert.match(profileRefusal("docker", ROOTFUL)!, /needs the sysbox runtime .* or a rootless/);
  // userns-remap alone is not enough: a privileged container would still own the host.
  assert.notEqual(profileRefusal("docker", { ...ROOTFUL, usernsRemap: true }), null);
  const both = { ...ROOTFUL, rootless: true, runtimes: ["runc", "sysbox-runc"] };
  assert.equal(nestedEngine(both), "sysbox");
  assert.equal(nestedEngine({ ...ROOTFUL, rootless: true }), "rootless");
  assert.equal(profileRefusal("docker", both), null);
  // A rootless engine on cgroup v1 cannot give nested containers their cgroups.
  assert.equal(nestedEngine({ ...ROOTFUL, rootless: true, cgroupVersion: 1 }), null);
  assert.match(
    profileRefusal("docker", { ...ROOTFUL, rootless: true, cgroupVersion: 1 })!,
    /rootless Docker engine on cgroup v2/,
  );
});

Deno.test("a userns-remapped engine cannot give the host's network, whatever the profile", () => {
  const remapped = { ...ROOTFUL, usernsRemap: true };
  for (const profile of ["hardened", "sudo"] as const) {
    assert.match(profileRefusal(profile, remapped, "host")!, /use --network bridge/);
    assert.equal(profileRefusal(profile, remapped, "bridge"), null);
  }
  assert.equal(profileRefusal("hardened", ROOTFUL, "host"), null);
});

Deno.test("docker info's answer is read: this project's engine, a remapped one, a rootless one", () => {
  const runtimes = '{"io.containerd.runc.v2":{"path":"runc"},"runc":{"path":"runc"}}';
  assert.deepEqual(parseEngineSecurity(`["name=seccomp,profile=default"]\t${runtimes}\t1\n`), {
    usernsRemap: false,
    rootless: false,
    runtimes: ["io.containerd.runc.v2", "runc"],
    cgroupVersion: 1,
  });
  const remapped = parseEngineSecurity(
    `["name=seccomp,profile=default","name=userns"]\t${runtimes}\t2`,
  );
  assert.ok(typeof remapped !== "string" && remapped.usernsRemap && remapped.cgroupVersion === 2);
  const rootless = parseEngineSecurity(`["name=seccomp,profile=default","name=rootless"]\tnull\t`);
  assert.ok(typeof rootless !== "string" && rootless.rootless && rootless.cgroupVersion === null);
  assert.match(String(parseEngineSecurity("20.10.24")), /Cannot read docker info's answer/);
});
