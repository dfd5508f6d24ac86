import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root directory, with a trailing slash. */
export const REPO = fileURLToPath(new URL("../../", import.meta.url));

/** Every file below `dir` (relative to the repository) whose name ends with one of `endings`. */
export async function filesUnder(dir: string, endings: string[]): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(join(REPO, dir))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) found.push(...await filesUnder(path, endings));
    else if (endings.some((ending) => entry.name.endsWith(ending))) found.push(path);
  }
  return found.sort();
}
