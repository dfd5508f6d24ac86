import { type CommandRunner, toolResult } from "../system/command.ts";
import { AuthError, NEEDED_PERMISSIONS } from "./errors.ts";

/** A token and where it was found. */
export interface FoundToken {
  token: string;
  source: "GH_TOKEN" | "GITHUB_TOKEN" | "gh auth token";
}

/**
 * The token, first found: `GH_TOKEN`, `GITHUB_TOKEN`, then `gh auth token` (for `GH_HOST` when
 * set). Throws `AuthError` saying how to get one when there is none.
 */
export async function findToken(
  env: (name: string) => string | undefined,
  run: CommandRunner,
): Promise<FoundToken> {
  for (const name of ["GH_TOKEN", "GITHUB_TOKEN"] as const) {
    const value = env(name)?.trim();
    if (value) return { token: value, source: name };
  }
  const host = env("GH_HOST")?.trim();
  const result = toolResult(
    "gh",
    await run("gh", ["auth", "token", ...(host ? ["--hostname", host] : [])], {
      timeoutMs: 10_000,
    }),
  );
  const token = result.ok ? result.stdout.trim() : "";
  if (token) return { token, source: "gh auth token" };
  throw new AuthError(
    `No GitHub token: set GH_TOKEN or GITHUB_TOKEN, or run \`gh auth login${
      host ? ` --hostname ${host}` : ""
    }\` (${result.ok ? "gh auth token printed nothing" : result.reason}); ${NEEDED_PERMISSIONS}`,
  );
}
