import { dirname, join } from "node:path";
import { fixture } from "./fixtures.ts";

/** What to lay out in a fixture root; paths are relative to the root, values the file text. */
export type RootFiles = Record<string, string>;

/** Writes files into a new temporary directory that stands in for `/`; returns its path. */
export async function makeRoot(files: RootFiles): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "autoscaler-root-" });
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(dirname(join(root, path)), { recursive: true });
    await Deno.writeTextFile(join(root, path), text);
  }
  return root;
}

/**
 * The `sys/class/drm/<node>/device/uevent` files of the Intel Kaby Lake + AMD Vega NUC, split out
 * of the real `head .../uevent` capture (records card0, card1, renderD128).
 */
export async function nucDrmFiles(): Promise<RootFiles> {
  const capture = await fixture(
    "intel/sys_class_drm_device_uevent_intel_kbl_plus_amd_vega_trimmed.txt",
  );
  const files: RootFiles = {};
  for (const record of capture.split(/^==> /m).slice(1)) {
    const [header, ...body] = record.split("\n");
    const path = header?.match(/^\/(\S+) <==$/)?.[1];
    if (path) files[path] = `${body.join("\n").trim()}\n`;
  }
  return files;
}
