import assert from "node:assert/strict";
import {
  type EngineSecurity,
  nestedEngine,
  profileLabels,
  profileRefusal,
} from "../../lib/core/runner_profiles.ts";

const ROOTFUL: EngineSecurity = { usernsRemap: false, rootless: false, runtimes: ["runc"] };

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
  const both = { usernsRemap: false, rootless: true, runtimes: ["runc", "sysbox-runc"] };
  assert.equal(nestedEngine(both), "sysbox");
  assert.equal(nestedEngine({ ...ROOTFUL, rootless: true }), "rootless");
  assert.equal(profileRefusal("docker", both), null);
});

Deno.test("a userns-remapped engine cannot give the host's network, whatever the profile", () => {
  const remapped = { ...ROOTFUL, usernsRemap: true };
  for (const profile of ["hardened", "sudo"] as const) {
    assert.match(profileRefusal(profile, remapped, "host")!, /use --network bridge/);
    assert.equal(profileRefusal(profile, remapped, "bridge"), null);
  }
  assert.equal(profileRefusal("hardened", ROOTFUL, "host"), null);
});
