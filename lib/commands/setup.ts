import { createGitHub, type GitHub, type GitHubAuth } from "../github/client.ts";
import { findToken } from "../github/token.ts";
import { UsageError } from "../errors.ts";
import { hostProfile } from "../labels.ts";
import type { CycleSettings } from "../cycle.ts";
import { detectHost, type HostFacts } from "../system/host.ts";
import type { Deps } from "./command.ts";
import type { RunOptions } from "./run_options.ts";

/** Requests to GitHub in flight at once. */
export const API_CONCURRENCY = 8;

/** What `run` and `plan` work with once the options are checked. */
export interface Prepared {
  host: HostFacts;
  github: GitHub;
  settings: CycleSettings;
}

/** The prefix of our runners' names on this host: `autoscaler-<host>-`. */
export function runnerPrefix(hostname: string): string {
  const host = hostname.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "") ||
    "host";
  return `autoscaler-${host.slice(0, 40)}-`;
}

/**
 * Detects the host, signs in to GitHub and fixes the cycle settings. Throws when the host cannot
 * provision (unsupported architecture) or no credentials are found.
 */
export async function prepare(options: RunOptions, deps: Deps): Promise<Prepared> {
  const host = await detectHost({
    root: options.root,
    run: deps.run,
    runtimeArch: deps.runtimeArch,
  });
  const profile = hostProfile(host, options.labels);
  if (profile === null) {
    throw new Error(
      `This host's architecture ${host.arch.machine} is not supported: runners need x64 or arm64`,
    );
  }
  const auth: GitHubAuth = options.app
    ? {
      kind: "app",
      appId: options.app.appId,
      installationId: options.app.installationId,
      privateKey: await Deno.readTextFile(options.app.privateKeyFile).catch((error) => {
        throw new UsageError(
          `Cannot read --app-private-key-file "${options.app?.privateKeyFile}": ${error.message}`,
        );
      }),
    }
    : { kind: "token", token: (await findToken(deps.env, deps.run)).token };
  return {
    host,
    github: createGitHub(options.apiUrl, auth),
    settings: {
      selection: { ...options.selection, app: options.app !== null },
      host: profile,
      maxRunners: options.maxRunners ?? Math.max(1, host.cpu.count),
      archFilter: options.archFilter,
      runnerPrefix: runnerPrefix(deps.hostname),
      concurrency: API_CONCURRENCY,
    },
  };
}
