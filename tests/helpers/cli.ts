import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

/** The permission flags of `deno task start`, so tests run the program as users do. */
async function startFlags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${REPO}deno.json`));
  const start: string = config.tasks.start;
  const match = start.match(/^deno run ((?:--allow-[\w-]+(?:=\S+)? ?)+)main\.ts$/);
  if (!match?.[1]) throw new Error(`Unexpected start task: ${start}`);
  return match[1].trim().split(" ");
}

/** What a run of the CLI printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `main.ts` as a separate process with the start task's permissions, as users run it.
 * `pathPrefix` goes in front of PATH (fake executables); `env` adds variables.
 */
export async function runCli(
  args: string[],
  options: { pathPrefix?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const path = [options.pathPrefix, Deno.env.get("PATH")].filter(Boolean).join(":");
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...await startFlags(), `${REPO}main.ts`, ...args],
    cwd: REPO,
    env: { ...options.env, PATH: path, NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
