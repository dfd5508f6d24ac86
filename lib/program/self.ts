import { fileURLToPath } from "node:url";

/**
 * The program's runtime flags: its explicit permission set, and a bound on V8's young generation
 * (bench/README.md has what the idle daemon holds with and without it). The
 * same in `deno.json`'s `start` and `compile` tasks (a test holds them together) and in the
 * `deno run` form a service unit uses when run from source.
 */
export const RUNTIME_FLAGS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-net",
  "--allow-sys=hostname,uid",
  "--v8-flags=--max-semi-space-size=2",
];

/** Whether this is a `deno compile` binary rather than `deno run main.ts`. */
export function isCompiled(): boolean {
  return Deno.mainModule.includes("/deno-compile-");
}

/**
 * The command that starts this program again: the binary itself when compiled, else `deno run`
 * with the permission set and the absolute path of `main.ts`.
 */
export function selfCommand(): string[] {
  if (isCompiled()) return [Deno.execPath()];
  return [Deno.execPath(), "run", ...RUNTIME_FLAGS, fileURLToPath(Deno.mainModule)];
}
