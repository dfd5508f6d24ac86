import assert from "node:assert/strict";
import { parseMemInfo } from "../../lib/system/meminfo.ts";
import { fixture } from "../helpers/fixtures.ts";

Deno.test("parseMemInfo reads MemTotal and MemAvailable in bytes", async () => {
  assert.deepEqual(parseMemInfo(await fixture("cpuinfo/meminfo_x86_64_16GB.txt")), {
    totalBytes: 16268680 * 1024,
    availableBytes: 8366284 * 1024,
  });
});

Deno.test("parseMemInfo gives null for what is missing or malformed", () => {
  assert.deepEqual(parseMemInfo(""), { totalBytes: null, availableBytes: null });
  assert.deepEqual(parseMemInfo("MemTotal:  1024 kB\nMemAvailable: lots kB\n"), {
    totalBytes: 1024 * 1024,
    availableBytes: null,
  });
});
