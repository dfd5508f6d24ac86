import assert from "node:assert/strict";
import { parseRocminfo } from "../../lib/system/rocminfo.ts";
import { fixture } from "../helpers/fixtures.ts";

Deno.test("parseRocminfo finds the four MI300X agents and skips the two CPUs", async () => {
  const gpus = parseRocminfo(await fixture("rocminfo/rocminfo_4x_mi300x_epyc9474f.txt"));
  assert.deepEqual(gpus?.map((g) => [g.name, g.marketingName, g.uuid]), [
    ["gfx942", "AMD Instinct MI300X", "GPU-8d1457e2c20f59d2"],
    ["gfx942", "AMD Instinct MI300X", "GPU-b4fa34630e85d42a"],
    ["gfx942", "AMD Instinct MI300X", "GPU-e8986800e182538a"],
    ["gfx942", "AMD Instinct MI300X", "GPU-eff71edc82169115"],
  ]);
});

Deno.test("parseRocminfo reads seven MI25 agents with the empty UUIDs of older ROCm", async () => {
  const gpus = parseRocminfo(
    await fixture("rocminfo/rocminfo_7x_mi25_threadripper_pro_3955wx.txt"),
  );
  assert.equal(gpus?.length, 7);
  assert.ok(gpus?.every((g) => g.name === "gfx900"));
  assert.equal(gpus?.[0]?.uuid, null);
});

Deno.test("parseRocminfo reads through the colour codes rocminfo prints into pipes", async () => {
  const text = await fixture("rocminfo/rocminfo_rx6700xt_i3-12100f.txt");
  assert.ok(text.includes("\x1b["), "the fixture still holds its ANSI codes");
  assert.deepEqual(parseRocminfo(text)?.map((g) => g.name), ["gfx1030"]);
});

Deno.test("parseRocminfo gives null for the driver-not-loaded message and garbage", async () => {
  assert.equal(parseRocminfo(await fixture("rocminfo/rocminfo_error_rock_not_loaded.txt")), null);
  assert.equal(parseRocminfo(""), null);
  assert.equal(parseRocminfo("\x00\x01 binary junk"), null);
});

Deno.test("parseRocminfo keeps the agents before a cut", async () => {
  const text = await fixture("rocminfo/rocminfo_4x_mi300x_epyc9474f.txt");
  const cut = text.slice(0, text.indexOf("Agent 5"));
  assert.equal(parseRocminfo(cut)?.length, 2);
});
