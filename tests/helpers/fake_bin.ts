import { join } from "node:path";
import { FIXTURES } from "./fixtures.ts";

/** Shell scripts to install as executables, by name. */
export type FakeTools = Record<string, string>;

/**
 * Makes a directory of fake executables (`#!/bin/sh` scripts) to put first on `PATH`, standing
 * in for tools our build machines lack (nvidia-smi, rocminfo) or for a broken docker.
 */
export async function makeFakeBin(tools: FakeTools): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "autoscaler-bin-" });
  for (const [name, body] of Object.entries(tools)) {
    const path = join(dir, name);
    await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
    await Deno.chmod(path, 0o755);
  }
  return dir;
}

/** A script body that prints a file and exits with a code. */
export function printsFile(path: string, code = 0): string {
  return `cat '${path.replaceAll("'", "'\\''")}'\nexit ${code}`;
}

/** A script body that hangs far longer than any probe timeout. */
export const HANGS = "exec sleep 60";

/** A fake `nvidia-smi` of a host with one H100, answering from the captured fixtures. */
export const NVIDIA_H100 = `case "$1" in
  -L) ${printsFile(`${FIXTURES}nvidia-smi/L_single_h100_80gb_hbm3.txt`)} ;;
  --query-gpu=*) ${printsFile(`${FIXTURES}nvidia-smi/query_gpu_csv_header_h100_all_fields.csv`)} ;;
  *) exit 64 ;;
esac`;
