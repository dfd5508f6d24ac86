import assert from "node:assert/strict";
import { join } from "node:path";
import { filesUnder, REPO } from "./helpers/repo_files.ts";

Deno.test("the pure core imports only the core, and other modules' types; it does no I/O", async () => {
  const files = await filesUnder("lib/core", [".ts"]);
  assert.ok(files.includes(join("lib", "core", "plan.ts")));
  const problems: string[] = [];
  for (const file of files) {
    const source = await Deno.readTextFile(join(REPO, file));
    for (const match of source.matchAll(/^(import|export)(\s+type)?[^;]*?from\s+"([^"]+)"/gms)) {
      const [, , typeOnly, specifier] = match;
      const inCore = specifier!.startsWith("./");
      if (!inCore && !typeOnly) problems.push(`${file} imports ${specifier} for more than types`);
    }
    if (/\bDeno\.|\bfetch\(|node:/.test(source)) problems.push(`${file} does I/O`);
  }
  assert.deepEqual(problems, []);
});

/** What each folder of `lib/` may import of ours, as the README's layout table says (the core: types only). */
const MAY_IMPORT: Record<string, string[]> = {
  core: ["system"],
  daemon: ["core", "github", "runners"],
  runners: ["core", "github", "system"],
  github: ["core", "program", "system"],
  system: [],
  service: ["core", "system"],
  update: ["github", "system"],
  simulator: ["system"],
  program: [],
};

Deno.test("each folder of lib/ imports only the folders the README's layout allows", async () => {
  const problems: string[] = [];
  for (const [folder, allowed] of Object.entries(MAY_IMPORT)) {
    for (const file of await filesUnder(join("lib", folder), [".ts"])) {
      const source = await Deno.readTextFile(join(REPO, file));
      for (const match of source.matchAll(/from\s+"(\.\.\/([a-z_]+)\/[^"]+)"/g)) {
        if (!allowed.includes(match[2]!)) problems.push(`${file} imports ${match[1]}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});
