import { createHash } from "node:crypto";
import {
  assetJson,
  jobJson,
  releaseJson,
  repoJson,
  runJson,
  runnerJson,
  type SimRelease,
  type SimRepo,
} from "./objects.ts";
import { SimWorld } from "./world.ts";
import { ScaleSetService, type ScaleSetServiceOptions } from "./scale_sets.ts";

/** One request the simulator answered. */
export interface RequestRecord {
  method: string;
  /** Path and query, as sent. */
  url: string;
  status: number;
  /** Whether it counted against the primary rate limit (a 304 does not). */
  counted: boolean;
  /** Whether it carried `If-None-Match`. */
  conditional: boolean;
}

/** A canned failure for matching requests, to test bad answers. */
export interface Fault {
  method?: string;
  path: RegExp;
  status: number;
  /** Sent as is: a non-JSON text tests parse failures. */
  body: string;
  /** How many requests it answers; unlimited when absent. */
  times?: number;
  /** Extra headers (`retry-after`). */
  headers?: Record<string, string>;
  /**
   * `hang`: the request is accepted and never answered (until the client gives up);
   * `reset`: the answer's headers are sent, then the connection breaks off mid-body.
   */
  mode?: "hang" | "reset";
}

/** Options of the simulator. */
export interface SimulatorOptions {
  /** Tokens accepted as `Authorization: token X` or `Bearer X`. */
  tokens?: string[];
  /** Requests an hour; the primary rate limit. */
  rateLimit?: number;
  /** GitHub App: its id and the public half of its key, and its installations' repositories. */
  app?: { id: number; publicKey: CryptoKey; installations: Record<number, string[]> };
  /** False answers generate-jitconfig with 404, as GitHub Enterprise Server before 3.10 does. */
  jit?: boolean;
  /** How long a stand-in runner works on a job, in seconds. */
  jobSeconds?: number;
  /**
   * How long a stand-in runner takes from its start to online, in seconds (GitHub's runner
   * takes seconds to boot and connect); 0 by default.
   */
  runnerBootSeconds?: number;
  /**
   * Each job sets up a tool of this many bytes, like `actions/setup-*`: a stand-in runner
   * downloads it from `/_simulator/tool` unless its tool cache has it.
   */
  toolBytes?: number;
  /** The `x-oauth-scopes` header of a classic token's answers (`repo, workflow`). */
  scopes?: string;
  /** How the runner scale set service behaves (long polls, sessions, the acquire flavour). */
  scaleSets?: ScaleSetServiceOptions;
  /** Added to every REST answer, to measure a cycle as over a network. */
  latencyMs?: number;
  world?: SimWorld;
}

type Handler = (
  match: Record<string, string>,
  url: URL,
  auth: Auth,
  request: Request,
) => Response | Promise<Response>;
type Auth = { token: string; installation: number | null };

const DOCS = "https://docs.github.com/rest";

/**
 * An in-process GitHub REST API over real HTTP on 127.0.0.1: the endpoints the autoscaler calls,
 * with GitHub's field names, `link` pagination, weak ETags with `If-None-Match` 304s,
 * `x-ratelimit-*` headers, token and GitHub App authentication, and a request log.
 */
export class GitHubSimulator {
  readonly world: SimWorld;
  readonly log: RequestRecord[] = [];
  readonly faults: Fault[] = [];
  /** Every JIT configuration handed out, in order (tests look for them where they must not be). */
  readonly jitConfigs: string[] = [];
  /** The registration token of every runner `config.sh` registered, in order. */
  readonly registrations: string[] = [];
  /** Bytes of the tool stand-in runners downloaded (see `toolBytes`). */
  toolBytesServed = 0;
  /** What each job found in its tool cache, as its runner reported: `hit`, `miss`, `corrupt`. */
  readonly toolCache = new Map<number, string>();
  /** While true, runners that ask for work get none (a job cancelled as its runner starts). */
  holdRunners = false;
  /** The Actions service's runner scale sets, beside the REST API. */
  readonly scaleSets: ScaleSetService;
  /** Downloads of these assets fail: `short` sends half the file, `abort` breaks off mid-way. */
  readonly downloadFaults = new Map<string, "short" | "abort">();
  readonly #tokens: Map<string, number | null>;
  readonly #runnerSecrets = new Map<number, string>();
  readonly #registrationTokens = new Map<string, string>();
  readonly #options: SimulatorOptions;
  #server: Deno.HttpServer | null = null;
  /** Ends hung answers when the simulator stops. */
  readonly #stopping = new AbortController();
  #remaining: number;
  /** When the rate-limit window began (the first answer), in epoch milliseconds. */
  #windowStart: number | null = null;
  readonly #routes: [string, URLPattern, Handler][];

  constructor(options: SimulatorOptions = {}) {
    this.#options = options;
    this.world = options.world ?? new SimWorld();
    this.#tokens = new Map((options.tokens ?? []).map((t) => [t, null]));
    this.#remaining = options.rateLimit ?? 5000;
    this.scaleSets = new ScaleSetService(
      this.world,
      {
        registrationScope: (token) => this.#registrationTokens.get(token),
        addRunner: (scope, name, labels, scaleSetId) => {
          if (this.world.runners.some((r) => r.name === name && r.scope === scope)) return null;
          return this.#newJitRunner(scope, name, labels, scaleSetId);
        },
        removeRunner: (runner) => {
          this.world.removeRunner(runner.id);
          this.#runnerSecrets.delete(runner.id);
        },
        url: () => this.url,
      },
      options.scaleSets ?? {},
      this.#stopping.signal,
    );
    // Paths are written as in GitHub's OpenAPI description, so the contract test can look them up.
    const route = (method: string, template: string, handler: Handler) =>
      [
        `${method} ${template}`,
        new URLPattern({ pathname: template.replace(/\{(\w+)\}/g, ":$1") }),
        handler,
      ] as [string, URLPattern, Handler];
    this.#routes = [
      route("GET", "/rate_limit", () => {
        const limit = this.#options.rateLimit ?? 5000;
        const core = {
          limit,
          remaining: this.#remaining,
          reset: this.#resetAt(),
          used: limit - this.#remaining,
        };
        const search = { limit: 30, remaining: 30, reset: this.#resetAt(), used: 0 };
        return json(200, { resources: { core, search }, rate: core });
      }),
      route("GET", "/user/repos", (_m, url) => this.#repos(url, this.world.repos)),
      route("GET", "/orgs/{org}/repos", (m, url) => {
        const org = this.world.accounts.get(m.org!.toLowerCase());
        if (org?.type !== "Organization") return notFound();
        return this.#repos(url, this.world.repos.filter((r) => r.owner === org));
      }),
      route("GET", "/users/{username}/repos", (m, url) =>
        this.#repos(
          url,
          this.world.repos.filter((r) =>
            r.owner.login.toLowerCase() === m.username!.toLowerCase() && !r.private
          ),
        )),
      route("GET", "/installation/repositories", (_m, url, auth) => {
        if (auth.installation === null) {
          return json(403, {
            message: "This endpoint needs an installation token",
            documentation_url: DOCS,
          });
        }
        const names = (this.#options.app?.installations[auth.installation] ?? []).map((n) =>
          n.toLowerCase()
        );
        const repos = this.world.repos.filter((r) =>
          names.includes(`${r.owner.login}/${r.name}`.toLowerCase())
        );
        return this.#page(url, repos, (r) => repoJson(this.url, r), (items, total) => ({
          total_count: total,
          repository_selection: "selected",
          repositories: items,
        }));
      }),
      route("GET", "/repos/{owner}/{repo}/actions/runs", (m, url) => {
        const repo = this.world.repo(`${m.owner}/${m.repo}`);
        if (!repo) return notFound();
        const status = url.searchParams.get("status");
        const runs = this.world.runs.filter((r) => r.repo === repo)
          .filter((r) => status === null || this.world.runStatus(r) === status)
          .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id - a.id);
        return this.#page(url, runs, (run) => {
          const runStatus = this.world.runStatus(run);
          return runJson(this.url, run, runStatus, runStatus === "completed" ? "success" : null);
        }, (items, total) => ({ total_count: total, workflow_runs: items }));
      }),
      route("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs", (m, url) => {
        const repo = this.world.repo(`${m.owner}/${m.repo}`);
        const run = this.world.runs.find((r) => r.repo === repo && String(r.id) === m.run_id);
        if (!repo || !run) return notFound();
        return this.#page(
          url,
          this.world.jobsOf(run),
          (job) => jobJson(this.url, job),
          (items, total) => ({ total_count: total, jobs: items }),
        );
      }),
      route("GET", "/repos/{owner}/{repo}/actions/runners", (m, url) => {
        const repo = this.world.repo(`${m.owner}/${m.repo}`);
        if (!repo) return notFound();
        return this.#runners(url, `${repo.owner.login}/${repo.name}`);
      }),
      route("GET", "/orgs/{org}/actions/runners", (m, url) => {
        const org = this.world.accounts.get(m.org!.toLowerCase());
        if (org?.type !== "Organization") return notFound();
        return this.#runners(url, org.login);
      }),
      route(
        "POST",
        "/repos/{owner}/{repo}/actions/runners/generate-jitconfig",
        (m, _u, _a, req) => {
          const repo = this.world.repo(`${m.owner}/${m.repo}`);
          return repo ? this.#jitConfig(`${repo.owner.login}/${repo.name}`, req) : notFound();
        },
      ),
      route("POST", "/orgs/{org}/actions/runners/generate-jitconfig", (m, _u, _a, req) => {
        const org = this.world.accounts.get(m.org!.toLowerCase());
        return org?.type === "Organization" ? this.#jitConfig(org.login, req) : notFound();
      }),
      route("POST", "/repos/{owner}/{repo}/actions/runners/registration-token", (m) => {
        const repo = this.world.repo(`${m.owner}/${m.repo}`);
        return repo ? this.#registrationToken(`${repo.owner.login}/${repo.name}`) : notFound();
      }),
      route("POST", "/orgs/{org}/actions/runners/registration-token", (m) => {
        const org = this.world.accounts.get(m.org!.toLowerCase());
        return org?.type === "Organization" ? this.#registrationToken(org.login) : notFound();
      }),
      route("DELETE", "/repos/{owner}/{repo}/actions/runners/{runner_id}", (m) => {
        const repo = this.world.repo(`${m.owner}/${m.repo}`);
        return repo
          ? this.#deleteRunner(`${repo.owner.login}/${repo.name}`, m.runner_id!)
          : notFound();
      }),
      route("GET", "/repos/{owner}/{repo}/releases", (m, url) => {
        const releases = this.#releasesOf(`${m.owner}/${m.repo}`);
        if (releases === null) return notFound();
        return this.#page(url, releases, (r) => releaseJson(this.url, r), (items) => items);
      }),
      route("GET", "/repos/{owner}/{repo}/releases/latest", (m) => {
        const latest = this.#releasesOf(`${m.owner}/${m.repo}`)?.find((r) => !r.prerelease);
        return latest ? json(200, releaseJson(this.url, latest)) : notFound();
      }),
      route("GET", "/repos/{owner}/{repo}/releases/tags/{tag}", (m) => {
        const release = this.#releasesOf(`${m.owner}/${m.repo}`)?.find((r) => r.tag === m.tag);
        return release ? json(200, releaseJson(this.url, release)) : notFound();
      }),
      route("GET", "/repos/{owner}/{repo}/releases/assets/{asset_id}", (m, _u, _a, req) => {
        for (const release of this.#releasesOf(`${m.owner}/${m.repo}`) ?? []) {
          const asset = release.assets.find((a) => String(a.id) === m.asset_id);
          if (!asset) continue;
          const json200 = json(200, assetJson(this.url, release, asset));
          if (req.headers.get("accept") !== "application/octet-stream") return json200;
          const location = assetJson(this.url, release, asset).browser_download_url;
          return new Response(null, { status: 302, headers: { location } });
        }
        return notFound();
      }),
      route("DELETE", "/orgs/{org}/actions/runners/{runner_id}", (m) => {
        const org = this.world.accounts.get(m.org!.toLowerCase());
        return org?.type === "Organization"
          ? this.#deleteRunner(org.login, m.runner_id!)
          : notFound();
      }),
    ];
  }

  /** The endpoints served, as `GET /repos/{owner}/{repo}/actions/runs` (OpenAPI paths). */
  get routes(): string[] {
    return [
      ...this.#routes.map(([route]) => route),
      "POST /app/installations/{installation_id}/access_tokens",
    ];
  }

  /** The API base URL, `http://127.0.0.1:<port>`, once started. */
  get url(): string {
    const addr = this.#server?.addr as Deno.NetAddr | undefined;
    if (!addr) throw new Error("The simulator is not started");
    return `http://127.0.0.1:${addr.port}`;
  }

  /** Published releases of a repository, newest first; null when there is no such repository. */
  #releasesOf(fullName: string): SimRelease[] | null {
    const repo = this.world.repo(fullName);
    if (!repo) return null;
    return this.world.releases.filter((r) => r.repo === repo && !r.draft).reverse();
  }

  /**
   * Release downloads, served without a token as GitHub serves public assets: the download
   * address redirects to the object, which sends the bytes (or fails as `downloadFaults` says).
   */
  #download(url: URL): Response | null {
    const named = url.pathname.match(/^\/_downloads\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)$/);
    if (named) {
      const release = this.#releasesOf(`${named[1]}/${named[2]}`)?.find((r) => r.tag === named[3]);
      const asset = release?.assets.find((a) => a.name === decodeURIComponent(named[4]!));
      if (!asset) return new Response("Not Found", { status: 404 });
      return new Response(null, {
        status: 302,
        headers: { location: `${this.url}/_objects/${asset.id}` },
      });
    }
    const object = url.pathname.match(/^\/_objects\/(\d+)$/);
    if (!object) return null;
    const asset = this.world.releases.flatMap((r) => r.assets).find((a) =>
      String(a.id) === object[1]
    );
    if (!asset) return new Response("Not Found", { status: 404 });
    const fault = this.downloadFaults.get(asset.name);
    const half = asset.bytes.slice(0, Math.floor(asset.bytes.length / 2)) as Uint8Array<
      ArrayBuffer
    >;
    if (fault === "short") return new Response(half, { status: 200 });
    const body = fault === "abort"
      ? new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(half);
          controller.error(new Error("connection lost"));
        },
      })
      : asset.bytes.slice() as Uint8Array<ArrayBuffer>;
    return new Response(body, {
      status: 200,
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(asset.bytes.length),
      },
    });
  }

  /** Makes a token invalid, as revoking it on GitHub does. */
  revoke(token: string): void {
    this.#tokens.delete(token);
  }

  /**
   * When the primary limit resets, in epoch seconds: an hour after the window began, as GitHub's
   * window runs from a token's first request. Never the top of a clock hour, which would make
   * what a test sees depend on the time of day it runs.
   */
  #resetAt(): number {
    this.#windowStart ??= this.world.now().getTime();
    return Math.ceil(this.#windowStart / 1000) + 3600;
  }

  /** Requests left in the primary rate limit. */
  get remaining(): number {
    return this.#remaining;
  }

  /** Starts serving on a free port of 127.0.0.1. */
  start(): Promise<void> {
    return new Promise((resolve) => {
      this.#server = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen: () => resolve() },
        (request) => this.#handle(request),
      );
    });
  }

  /** Stops serving and closes its connections. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#server?.shutdown();
    this.#server = null;
  }

  /** Requests whose path matches, e.g. `sim.requests(/actions\/runs$/)`. */
  requests(path?: RegExp): RequestRecord[] {
    return path ? this.log.filter((r) => path.test(new URL(r.url, "http://x").pathname)) : this.log;
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const record = (response: Response, counted: boolean) => {
      this.log.push({
        method: request.method,
        url: url.pathname + url.search,
        status: response.status,
        counted,
        conditional: request.headers.has("if-none-match"),
      });
      return response;
    };
    const fault = this.faults.find((f) =>
      (f.method ?? "GET") === request.method && f.path.test(url.pathname) && (f.times ?? 1) > 0
    );
    if (fault) {
      if (fault.times !== undefined) fault.times--;
      this.#remaining--;
      if (fault.mode === "hang") {
        await new Promise((resolve) => {
          request.signal.addEventListener("abort", resolve);
          this.#stopping.signal.addEventListener("abort", resolve);
        });
        return record(new Response(null, { status: 499 }), true);
      }
      if (fault.mode === "reset") {
        const half = new TextEncoder().encode(fault.body.slice(0, fault.body.length >> 1));
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(half);
            setTimeout(() => controller.error(new Error("connection reset")), 10);
          },
        });
        const response = new Response(body, {
          status: fault.status,
          headers: { "content-type": "application/json; charset=utf-8", ...fault.headers },
        });
        return record(this.#withRateHeaders(response), true);
      }
      const type = isJson(fault.body) ? "application/json; charset=utf-8" : "text/html";
      const response = new Response(fault.body, {
        status: fault.status,
        headers: { "content-type": type, ...fault.headers },
      });
      return record(this.#withRateHeaders(response), true);
    }
    if (request.method === "GET" && url.pathname === "/_simulator/tool") {
      const tool = this.#tool();
      this.toolBytesServed += tool.length;
      return record(new Response(tool), false);
    }
    if (request.method === "GET") {
      const download = this.#download(url);
      if (download) return record(download, false);
    }
    if (request.method === "POST") {
      const token = url.pathname.match(/^\/app\/installations\/(\d+)\/access_tokens$/);
      if (token?.[1]) {
        return record(await this.#installationToken(request, Number(token[1])), false);
      }
      if (url.pathname === "/_simulator/register") {
        return record(await this.#configure(request), false);
      }
      const runner = url.pathname.match(
        /^\/_simulator\/runners\/(\d+)\/(connect|acquire|complete)$/,
      );
      if (runner?.[1] && runner[2]) {
        return record(await this.#runnerProtocol(request, Number(runner[1]), runner[2]), false);
      }
    }
    // The Actions service is not the REST API: no rate limit, tokens of its own.
    const service = await this.scaleSets.handle(request, url);
    if (service) return record(service, false);
    if (this.#options.latencyMs) {
      await new Promise((resolve) => setTimeout(resolve, this.#options.latencyMs));
    }
    const auth = this.#authenticate(request);
    if (!auth) {
      return record(
        json(401, { message: "Bad credentials", documentation_url: DOCS, status: "401" }),
        false,
      );
    }
    if (this.#remaining <= 0) {
      return record(
        this.#withRateHeaders(json(403, {
          message: "API rate limit exceeded for user.",
          documentation_url: DOCS,
        })),
        false,
      );
    }
    for (const [route, pattern, handler] of this.#routes) {
      const match = pattern.exec(url);
      if (!route.startsWith(`${request.method} `) || !match) continue;
      const response = await handler(
        match.pathname.groups as Record<string, string>,
        url,
        auth,
        request,
      );
      const etag = response.headers.get("etag");
      if (etag && request.headers.get("if-none-match") === etag) {
        return record(
          this.#withRateHeaders(new Response(null, { status: 304, headers: { etag } })),
          false,
        );
      }
      if (this.#options.scopes !== undefined) {
        response.headers.set("x-oauth-scopes", this.#options.scopes);
      }
      // GitHub does not count /rate_limit against the limit.
      const counted = route !== "GET /rate_limit";
      if (counted) this.#remaining--;
      return record(this.#withRateHeaders(response), counted);
    }
    this.#remaining--;
    return record(this.#withRateHeaders(notFound()), true);
  }

  #authenticate(request: Request): Auth | null {
    const header = request.headers.get("authorization") ?? "";
    const token = header.match(/^(?:token|bearer) (\S+)$/i)?.[1];
    if (!token || !this.#tokens.has(token)) return null;
    return { token, installation: this.#tokens.get(token) ?? null };
  }

  #withRateHeaders(response: Response): Response {
    const limit = this.#options.rateLimit ?? 5000;
    const reset = this.#resetAt();
    const rate = {
      "x-ratelimit-limit": String(limit),
      "x-ratelimit-remaining": String(Math.max(0, this.#remaining)),
      "x-ratelimit-used": String(limit - Math.max(0, this.#remaining)),
      "x-ratelimit-reset": String(reset),
      "x-ratelimit-resource": "core",
    };
    // A fault's own rate headers (an exhausted limit) stay as the fault gave them.
    for (const [name, value] of Object.entries(rate)) {
      if (!response.headers.has(name)) response.headers.set(name, value);
    }
    return response;
  }

  #repos(url: URL, repos: SimRepo[]): Promise<Response> {
    const sorted = [...repos].sort((a, b) =>
      `${a.owner.login}/${a.name}`.localeCompare(`${b.owner.login}/${b.name}`)
    );
    return this.#page(url, sorted, (r) => repoJson(this.url, r), (items) => items);
  }

  #runners(url: URL, scope: string): Promise<Response> {
    const runners = this.world.runners.filter((r) => r.scope.toLowerCase() === scope.toLowerCase());
    return this.#page(
      url,
      runners,
      runnerJson,
      (items, total) => ({ total_count: total, runners: items }),
    );
  }

  /** One page of `items` with GitHub's `per_page`/`page` parameters and `link` header. */
  async #page<T>(
    url: URL,
    items: T[],
    toJson: (item: T) => unknown,
    wrap: (page: unknown[], total: number) => unknown,
  ): Promise<Response> {
    const perPage = Math.min(
      100,
      Math.max(1, Number(url.searchParams.get("per_page") ?? 30) || 30),
    );
    const page = Math.max(1, Number(url.searchParams.get("page") ?? 1) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const body = JSON.stringify(
      wrap(items.slice((page - 1) * perPage, page * perPage).map(toJson), items.length),
    );
    const headers = new Headers({ "content-type": "application/json; charset=utf-8" });
    const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(body));
    headers.set(
      "etag",
      `W/"${[...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("")}"`,
    );
    const link = (n: number, rel: string) => {
      const target = new URL(url.pathname + url.search, this.url);
      target.searchParams.set("page", String(n));
      return `<${target}>; rel="${rel}"`;
    };
    const links = [
      ...(page > 1 ? [link(page - 1, "prev"), link(1, "first")] : []),
      ...(page < last ? [link(page + 1, "next"), link(last, "last")] : []),
    ];
    if (links.length > 0) headers.set("link", links.join(", "));
    return new Response(body, { status: 200, headers });
  }

  /** `generate-jitconfig`: registers an offline runner and returns the config it starts with. */
  async #jitConfig(scope: string, request: Request): Promise<Response> {
    if (this.#options.jit === false) return notFound();
    const body = await request.json().catch(() => null) as
      | { name?: unknown; runner_group_id?: unknown; labels?: unknown }
      | null;
    const labels = body?.labels;
    if (
      typeof body?.name !== "string" || typeof body.runner_group_id !== "number" ||
      !Array.isArray(labels) || labels.length < 1 || labels.length > 100 ||
      !labels.every((l) => typeof l === "string")
    ) {
      return json(422, { message: "Invalid request.", documentation_url: DOCS, status: "422" });
    }
    if (this.world.runners.some((r) => r.name === body.name && r.scope === scope)) {
      return json(409, {
        message: "Already exists - A runner with this name exists.",
        documentation_url: DOCS,
      });
    }
    const { runner, config } = this.#newJitRunner(scope, body.name, labels as string[]);
    return json(201, { runner: runnerJson(runner), encoded_jit_config: config });
  }

  /** Registers an offline runner and makes the JIT config it starts with. */
  #newJitRunner(scope: string, name: string, labels: string[], scaleSetId?: number) {
    const runner = this.world.addRunner(scope, { name, labels });
    if (scaleSetId !== undefined) runner.scaleSetId = scaleSetId;
    const secret = crypto.randomUUID();
    this.#runnerSecrets.set(runner.id, secret);
    const config = btoa(`url=${this.url}\n${this.#runnerSettings(runner.id, secret)}`);
    this.jitConfigs.push(config);
    return { runner, config };
  }

  /** A registration token (valid one hour) for `config.sh`, the way in without JIT. */
  #registrationToken(scope: string): Response {
    const token = `AREG${crypto.randomUUID().replaceAll("-", "").toUpperCase()}`;
    this.#registrationTokens.set(token, scope);
    const expires = new Date(this.world.now().getTime() + 3_600_000).toISOString();
    return json(201, { token, expires_at: expires.replace(/\.\d+Z$/, "Z") });
  }

  /**
   * What the stand-in `config.sh` speaks: registers a runner with a registration token (lines
   * `token`, `name`, `labels` in the body) and answers `runner_id=` and `secret=` lines.
   */
  async #configure(request: Request): Promise<Response> {
    const [token = "", name = "", labels = ""] = (await request.text()).split("\n");
    const scope = this.#registrationTokens.get(token.trim());
    if (!scope || !name.trim()) return new Response("bad registration token\n", { status: 401 });
    const runner = this.world.addRunner(scope, {
      name: name.trim(),
      labels: labels.split(",").map((l) => l.trim()).filter(Boolean),
    });
    const secret = crypto.randomUUID();
    this.#runnerSecrets.set(runner.id, secret);
    this.registrations.push(token.trim());
    return new Response(this.#runnerSettings(runner.id, secret));
  }

  /** What a stand-in runner is told at registration: who it is, and how long it boots. */
  #runnerSettings(id: number, secret: string): string {
    return `runner_id=${id}\nsecret=${secret}\nboot=${this.#options.runnerBootSeconds ?? 0}\n`;
  }

  #deleteRunner(scope: string, id: string): Response {
    const runner = this.world.runners.find((r) => String(r.id) === id && r.scope === scope);
    if (!runner) return notFound();
    if (runner.busy) {
      return json(422, {
        message: `Bad request - Runner "${runner.name}" is still running a job"`,
        documentation_url: DOCS,
        status: "422",
      });
    }
    this.world.removeRunner(runner.id);
    this.#runnerSecrets.delete(runner.id);
    return new Response(null, { status: 204 });
  }

  /**
   * What the stand-in runner in the test image speaks (not GitHub's REST API), with its secret
   * as the body's first line: come online, ask for a job (`job <id> <seconds>`, then the tool's
   * SHA-256 with `toolBytes`; or `none` while there is no job or `holdRunners` is set), report
   * it done (a second line `cache=hit|miss|corrupt` tells what its tool cache held). A deleted
   * runner gets 404. Like GitHub's broker, asking for a job is a long poll: the answer waits up
   * to a second for one.
   */
  async #runnerProtocol(request: Request, id: number, step: string): Promise<Response> {
    const runner = this.world.runners.find((r) => r.id === id);
    const [secret, report] = (await request.text()).trim().split("\n");
    if (!runner || !secret || this.#runnerSecrets.get(id) !== secret) {
      return new Response("no such runner\n", { status: 404 });
    }
    if (step === "connect") {
      runner.status = "online";
      return new Response("ok\n");
    }
    if (step === "acquire") {
      const until = performance.now() + 1000;
      for (;;) {
        const [job] = runner.busy || this.holdRunners ? [] : this.world.dispatch(runner);
        if (job) {
          const tool = this.#options.toolBytes ? ` ${this.#toolDigest()}` : "";
          return new Response(`job ${job.id} ${this.#options.jobSeconds ?? 1}${tool}\n`);
        }
        if (performance.now() > until || this.#stopping.signal.aborted) {
          return new Response("none\n");
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    const job = this.world.jobs.find((j) => j.runnerId === id && j.status === "in_progress");
    const cache = report?.match(/^cache=(\w+)$/)?.[1];
    if (job && cache) this.toolCache.set(job.id, cache);
    if (job) this.world.completeJob(job);
    else this.world.removeRunner(id);
    return new Response("ok\n");
  }

  #toolBytes: Uint8Array<ArrayBuffer> | null = null;
  #toolSha256: string | null = null;

  /** The tool's bytes: the same on every call, so a cached copy can be checked. */
  #tool(): Uint8Array<ArrayBuffer> {
    this.#toolBytes ??= Uint8Array.from(
      { length: this.#options.toolBytes ?? 0 },
      (_, i) => (i * 31 + (i >> 8)) & 255,
    );
    return this.#toolBytes;
  }

  /** The tool's SHA-256 in hex, which a stand-in runner checks its cached copy against. */
  #toolDigest(): string {
    this.#toolSha256 ??= createHash("sha256").update(this.#tool()).digest("hex");
    return this.#toolSha256;
  }

  async #installationToken(request: Request, installation: number): Promise<Response> {
    const app = this.#options.app;
    const jwt = request.headers.get("authorization")?.match(/^bearer (\S+)$/i)?.[1];
    // The App signs with the real clock, whatever the simulated one says.
    if (!app || !jwt || !(await verifyAppJwt(jwt, app.id, app.publicKey, new Date()))) {
      return json(401, {
        message: "A JSON web token could not be decoded",
        documentation_url: DOCS,
      });
    }
    if (!(installation in app.installations)) return notFound();
    const token = `ghs_${crypto.randomUUID().replaceAll("-", "")}`;
    this.#tokens.set(token, installation);
    return json(201, {
      token,
      expires_at: new Date(this.world.now().getTime() + 3_600_000).toISOString().replace(
        /\.\d+Z$/,
        "Z",
      ),
      permissions: { actions: "read", administration: "write", metadata: "read" },
      repository_selection: "selected",
    });
  }
}

/** Checks an RS256 GitHub App JWT: signature, issuer and time window. */
async function verifyAppJwt(
  jwt: string,
  appId: number,
  key: CryptoKey,
  now: Date,
): Promise<boolean> {
  const [header, payload, signature] = jwt.split(".");
  if (!header || !payload || !signature) return false;
  const decode = (part: string) => {
    const base64 = part.replaceAll("-", "+").replaceAll("_", "/");
    return Uint8Array.from(
      atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "=")),
      (c) => c.charCodeAt(0),
    );
  };
  try {
    const valid = await crypto.subtle.verify(
      "RSASSA-PKCS1-v1_5",
      key,
      decode(signature),
      new TextEncoder().encode(`${header}.${payload}`),
    );
    const claims = JSON.parse(new TextDecoder().decode(decode(payload)));
    const seconds = now.getTime() / 1000;
    return valid && String(claims.iss) === String(appId) && claims.iat <= seconds + 60 &&
      claims.exp >= seconds;
  } catch {
    return false;
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

function notFound(): Response {
  return json(404, { message: "Not Found", documentation_url: DOCS, status: "404" });
}
