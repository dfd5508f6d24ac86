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

/** How long a request may wait for GitHub's answer, unless a caller says otherwise. */
export const DEFAULT_API_TIMEOUT_MS = 30_000;

/** What may watch or shape a client's requests. */
export interface ClientExtras {
  /** Aborts every request in flight, and every later one (SIGTERM). */
  signal?: AbortSignal;
  /** The deadline of each request, its answer's body included (default 30 s). */
  timeoutMs?: number;
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
  const github = makeClient(
    baseUrl,
    auth,
    deadlineFetch(extras.timeoutMs ?? DEFAULT_API_TIMEOUT_MS, extras.signal),
  );
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

/**
 * `fetch` with a deadline and the stop signal: the answer must begin within `timeoutMs`, and
 * no gap between two parts of its body may be longer, so a server that accepts and never
 * answers, or stalls mid-body, fails that request with a message naming it instead of stalling
 * the loop, while a large download that keeps coming is never cut. SIGTERM aborts whatever is
 * in flight. The body streams through; nothing is buffered here.
 */
export function deadlineFetch(timeoutMs: number, stop?: AbortSignal): typeof fetch {
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const silent = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        silent.abort(
          new Error(`${init?.method ?? "GET"} ${url}: no answer within ${timeoutMs / 1000} s`),
        );
      }, timeoutMs);
    };
    const signals = [silent.signal, stop, init?.signal].filter((s): s is AbortSignal => !!s);
    arm();
    let response: Response;
    try {
      response = await fetch(input, { ...init, signal: AbortSignal.any(signals) });
    } catch (error) {
      clearTimeout(timer);
      throw silent.signal.aborted && !stop?.aborted ? silent.signal.reason : error;
    }
    if (response.body === null) {
      clearTimeout(timer);
      return response;
    }
    arm();
    const watched = new Response(
      response.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            arm();
            controller.enqueue(chunk);
          },
          flush() {
            clearTimeout(timer);
          },
        }),
      ),
      { status: response.status, statusText: response.statusText, headers: response.headers },
    );
    Object.defineProperty(watched, "url", { value: response.url });
    return watched;
  };
}

function makeClient(baseUrl: string, auth: GitHubAuth, fetcher: typeof fetch): GitHub {
  const common = {
    baseUrl,
    request: { fetch: fetcher },
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
