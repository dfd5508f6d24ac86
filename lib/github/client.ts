import { createAppAuth } from "@octokit/auth-app";
import { Octokit } from "@octokit/rest";
import { getLogger } from "@logtape/logtape";
import { VERSION } from "../program/version.ts";
import type { RateBudget } from "./budget.ts";
import type { EtagCache } from "./etag_cache.ts";

/** How the autoscaler signs in to GitHub. */
export type GitHubAuth =
  | { kind: "none" }
  | { kind: "token"; token: string }
  | { kind: "app"; appId: number; privateKey: string; installationId: number };

/** The Octokit client the adapters use. */
export type GitHub = Octokit;

const log = getLogger(["autoscaler", "github"]);

/** What may watch or shape a client's requests. */
export interface ClientExtras {
  /** At most this many requests in flight at once, however they are issued. */
  concurrency?: number;
  /** Counts answers by status; sees 304s as 304s. */
  metrics?: { attach(github: GitHub): void };
  /** Reads the rate limit and waits out short `retry-after`s. */
  budget?: RateBudget;
  /** Makes GETs conditional. */
  cache?: EtagCache;
}

/**
 * An Octokit client for `baseUrl`, signed in with a token or as a GitHub App installation. The
 * extras wrap its requests innermost first: the concurrency limit, metrics, budget, then the
 * cache, so metrics and budget see GitHub's own answers.
 */
export function createGitHub(baseUrl: string, auth: GitHubAuth, extras: ClientExtras = {}): GitHub {
  const github = makeClient(baseUrl, auth);
  if (extras.concurrency) limitConcurrency(github, extras.concurrency);
  extras.metrics?.attach(github);
  extras.budget?.attach(github);
  extras.cache?.attach(github);
  return github;
}

/** A semaphore around every request of a client. */
function limitConcurrency(github: GitHub, max: number): void {
  let active = 0;
  const waiting: (() => void)[] = [];
  github.hook.wrap("request", async (request, options) => {
    if (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await request(options);
    } finally {
      active--;
      waiting.shift()?.();
    }
  });
}

function makeClient(baseUrl: string, auth: GitHubAuth): GitHub {
  const common = {
    baseUrl,
    userAgent: `github-autoscaler/${VERSION}`,
    // Octokit logs every failed request; callers report the failures that matter, once.
    log: {
      debug: (message: string) => log.debug(message),
      info: (message: string) => log.debug(message),
      warn: (message: string) => log.warn(message),
      error: (message: string) => log.debug(message),
    },
  };
  if (auth.kind === "none") return new Octokit(common);
  if (auth.kind === "token") return new Octokit({ ...common, auth: auth.token });
  return new Octokit({
    ...common,
    authStrategy: createAppAuth,
    auth: { appId: auth.appId, privateKey: auth.privateKey, installationId: auth.installationId },
  });
}
