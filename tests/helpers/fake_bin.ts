import { join } from "node:path";

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
