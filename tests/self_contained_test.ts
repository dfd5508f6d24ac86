import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { filesUnder, REPO } from "./helpers/repo_files.ts";

/** The relative paths a source file names: in imports, `new URL(...)` and `import(...)`. */
function relativeSpecifiers(source: string): string[] {
  const specifiers: string[] = [];
  const pattern = /(?:from\s+|import\(\s*|new URL\(\s*|import\s+)(["'`])(\.\.?\/[^"'`$]*)\1/g;
  for (const match of source.matchAll(pattern)) specifiers.push(match[2]!);
  return specifiers;
}

Deno.test("no source, test, bench or script names a path outside the repository", async () => {
  const files = [
    "main.ts",
    ...await filesUnder("lib", [".ts"]),
    ...await filesUnder("tests", [".ts"]),
    ...await filesUnder("bench", [".ts"]),
    ...await filesUnder("scripts", [".ts"]),
  ];
  assert.ok(files.length > 100, `only ${files.length} files found`);
  const outside: string[] = [];
  for (const file of files) {
    const source = await Deno.readTextFile(join(REPO, file));
    for (const specifier of relativeSpecifiers(source)) {
      const target = relative(REPO, resolve(dirname(join(REPO, file)), specifier));
      if (target.startsWith("..")) outside.push(`${file}: ${specifier}`);
    }
  }
  assert.deepEqual(outside, []);
});

Deno.test("the CI script, the tasks and the READMEs name no path that leaves the repository", async () => {
  const outside: string[] = [];
  for (const file of [".ci/run", "deno.json", "README.md", "bench/README.md"]) {
    const text = await Deno.readTextFile(join(REPO, file));
    for (const [path] of text.matchAll(/(?<![\w.])\.\.\/[\w./-]*/g)) {
      const target = relative(REPO, resolve(dirname(join(REPO, file)), path));
      if (target.startsWith("..")) outside.push(`${file}: ${path}`);
    }
  }
  assert.deepEqual(outside, []);
});
