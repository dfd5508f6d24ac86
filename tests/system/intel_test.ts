import assert from "node:assert/strict";
import { runCommand } from "../../lib/system/command.ts";
import { hostFiles } from "../../lib/system/files.ts";
import { detectIntel } from "../../lib/system/intel.ts";
import { fixture } from "../helpers/fixtures.ts";
import { makeRoot, nucDrmFiles } from "../helpers/roots.ts";

Deno.test("detectIntel finds the NUC's Intel render node and not its AMD card", async () => {
  const drm = await nucDrmFiles();
  assert.deepEqual(Object.keys(drm).sort(), [
    "sys/class/drm/card0/device/uevent",
    "sys/class/drm/card1/device/uevent",
    "sys/class/drm/renderD128/device/uevent",
  ]);
  const root = await makeRoot({
    ...drm,
    // The AMD render node of the same NUC, whose record the capture cut off.
    "sys/class/drm/renderD129/device/vendor": "0x1002\n",
  });
  try {
    assert.deepEqual(await detectIntel(hostFiles(root, runCommand)), {
      gpus: [{ node: "renderD128", deviceId: "0x591b", driver: "i915" }],
      npus: [],
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("detectIntel finds the Core Ultra NPU at /dev/accel/accel0", async () => {
  const listing = await fixture("intel/dev_accel_ls_core_ultra9_185h.txt");
  const node = listing.match(/\/dev\/accel\/(accel\d+)/)?.[1];
  assert.equal(node, "accel0");
  const root = await makeRoot({
    [`dev/accel/${node}`]: "",
    [`sys/class/accel/${node}/device/vendor`]: "0x8086\n",
    [`sys/class/accel/${node}/device/device`]: "0x7d1d\n",
    [`sys/class/accel/${node}/device/uevent`]: "DRIVER=intel_vpu\nPCI_ID=8086:7D1D\n",
    // Another vendor's accelerator on the same host (Habana Gaudi) is not an OpenVINO NPU.
    "dev/accel/accel1": "",
    "sys/class/accel/accel1/device/vendor": "0x1da3\n",
  });
  try {
    assert.deepEqual(await detectIntel(hostFiles(root, runCommand)), {
      gpus: [],
      npus: [{ node: "accel0", deviceId: "0x7d1d", driver: "intel_vpu" }],
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("detectIntel finds nothing on a host without /sys/class/drm or /dev/accel", async () => {
  const root = await makeRoot({ "proc/cpuinfo": "" });
  try {
    assert.deepEqual(await detectIntel(hostFiles(root, runCommand)), { gpus: [], npus: [] });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
