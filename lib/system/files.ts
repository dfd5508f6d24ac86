import { join } from "node:path";
import type { CommandRunner } from "./command.ts";

/** Read-only access to a host's /proc, /sys and /dev, below a root directory. */
export interface HostFiles {
  /** A file's text; null when it is missing or unreadable. */
  readText(path: string): Promise<string | null>;
  /** Names in a directory, in natural order; empty when it is missing or unreadable. */
  list(path: string): Promise<string[]>;
}

/**
 * Files below `root` (`/` on a real host, a fixture tree in tests).
 *
 * Deno refuses /proc, /sys and /dev to anything short of `--allow-all` (denoland/deno#27564);
 * rather than give up the explicit permission set, those reads fall back to `cat` and `ls`.
 */
export function hostFiles(root: string, run: CommandRunner): HostFiles {
  return {
    async readText(path) {
      const full = join(root, path);
      try {
        return await Deno.readTextFile(full);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotCapable)) return null;
        const outcome = await run("cat", ["--", full]);
        return outcome.kind === "exited" && outcome.code === 0 ? outcome.stdout : null;
      }
    },
    async list(path) {
      const full = join(root, path);
      const names: string[] = [];
      try {
        for await (const entry of Deno.readDir(full)) names.push(entry.name);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotCapable)) return [];
        const outcome = await run("ls", ["-1A", "--", full]);
        if (outcome.kind !== "exited" || outcome.code !== 0) return [];
        names.push(...outcome.stdout.split("\n").filter((name) => name !== ""));
      }
      return names.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
    },
  };
}
