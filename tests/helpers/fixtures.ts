import { fileURLToPath } from "node:url";

/** The real tool outputs in tests/fixtures (their sources in tests/fixtures/SOURCES.md). */
export const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));

/** Reads one fixture file, e.g. `fixture("nvidia-smi/L_single_h100_80gb_hbm3.txt")`. */
export function fixture(path: string): Promise<string> {
  return Deno.readTextFile(`${FIXTURES}${path}`);
}
