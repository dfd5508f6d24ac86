import type { GitHub } from "./client.ts";
import { authErrorFor } from "./errors.ts";
import { abortableSleep } from "./budget.ts";
import { VERSION } from "../program/version.ts";

/**
 * The client side of GitHub's runner scale set service (the protocol of `actions/scaleset`):
 * a registration token over REST buys an admin token for the organization's Actions service,
 * which holds the scale sets, their listener sessions, message queues and JIT runners.
 */

/** The service's own API version, on every `_apis` call. */
const API_VERSION = "6.0-preview";

/** An answer of the Actions service other than the one asked for. */
export class ActionsServiceError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    /** The service's exception name (`AgentExistsException`), when it gave one. */
    readonly typeName: string,
    detail: string,
  ) {
    super(`${method} ${path} answered ${status}${detail ? `: ${detail}` : ""}`);
    this.name = "ActionsServiceError";
  }
}

/** Whether `error` is the service's answer `status`. */
export function isServiceStatus(error: unknown, status: number): error is ActionsServiceError {
  return error instanceof ActionsServiceError && error.status === status;
}

/**
 * Whether `error` says the thing asked about is gone: 404, or the service's exception name for
 * it (`AgentNotFoundException`, `RunnerScaleSetNotFoundException`, ...), whatever the status.
 */
export function isGone(error: unknown): boolean {
  return error instanceof ActionsServiceError &&
    (error.status === 404 || error.typeName.includes("NotFound"));
}

/** How many times a request is tried when the service is busy (5xx, 429) or out of reach. */
const TRIES = 4;

/** The longest wait between two tries, `Retry-After` included. */
const MAX_RETRY_WAIT_MS = 30_000;

/** A signal that never aborts, for a client without a stop signal. */
const NEVER = new AbortController().signal;

/** GitHub's counts for one scale set, sent with every message. */
export interface ScaleSetStatistics {
  totalAvailableJobs: number;
  totalAcquiredJobs: number;
  /** Jobs assigned to the scale set, waiting or running: the runners it needs. */
  totalAssignedJobs: number;
  totalRunningJobs: number;
  totalRegisteredRunners: number;
  totalBusyRunners: number;
  totalIdleRunners: number;
}

/** A scale set as the service describes it. */
export interface ScaleSet {
  id: number;
  name: string;
  runnerGroupId: number;
  labels: string[];
}

/** One listener session: the queue it reads and the token for it. */
export interface ScaleSetSession {
  sessionId: string;
  messageQueueUrl: string;
  messageQueueAccessToken: string;
  statistics: ScaleSetStatistics;
}

/** One job event in a message. */
export interface JobEvent {
  messageType: "JobAvailable" | "JobAssigned" | "JobStarted" | "JobCompleted" | string;
  runnerRequestId: number;
  repositoryName: string;
  ownerName: string;
  jobDisplayName: string;
  requestLabels: string[];
  queueTime: string;
  runnerName?: string;
  result?: string;
}

/** A message of the queue, its job events decoded. */
export interface QueueMessage {
  messageId: number;
  statistics: ScaleSetStatistics;
  jobs: JobEvent[];
}

/** Where the client finds GitHub, and how long its requests may take. */
export interface ScaleSetClientOptions {
  /** The REST API base (`https://api.github.com`). */
  apiUrl: string;
  /** The organization's web address (`https://github.com/acme`), which registration names. */
  configUrl: string;
  org: string;
  /** `fetch` bounded for ordinary calls (a deadline and the stop signal). */
  fetch: typeof fetch;
  /** `fetch` for the long poll, whose answer may take the service's ~50 s to begin. */
  pollFetch: typeof fetch;
  now: () => Date;
  /** Cuts the waits between tries short (SIGTERM). */
  signal?: AbortSignal;
}

/** The admin connection `runner-registration` gives. */
interface AdminConnection {
  url: string;
  token: string;
  /** The token's `exp`, in epoch ms. */
  expiresAt: number;
}

/**
 * The scale set service of one organization. The admin token is fetched when first needed,
 * again a minute before it expires, and again once when the service answers 401.
 */
export class ScaleSetClient {
  #admin: AdminConnection | null = null;

  constructor(private github: GitHub, private options: ScaleSetClientOptions) {}

  /**
   * The same service through other clients (ones the stop signal does not cut off, for the
   * last calls after it), keeping the admin token this one holds.
   */
  through(github: GitHub, fetcher: typeof fetch): ScaleSetClient {
    const client = new ScaleSetClient(github, { ...this.options, fetch: fetcher });
    client.#admin = this.#admin;
    return client;
  }

  /** The scale set named `name` in the runner group, or null. */
  async scaleSetByName(name: string, runnerGroupId: number): Promise<ScaleSet | null> {
    const list = await this.#call("GET", "_apis/runtime/runnerscalesets", {
      query: { runnerGroupId: String(runnerGroupId), name },
    }) as { count?: number; value?: unknown[] };
    const found = (list.value ?? []).map(scaleSetOf);
    if (found.length > 1) throw new Error(`${found.length} runner scale sets are named ${name}`);
    return found[0] ?? null;
  }

  /** The scale set `id`, or null when it is gone. */
  async scaleSet(id: number): Promise<ScaleSet | null> {
    try {
      return scaleSetOf(await this.#call("GET", `_apis/runtime/runnerscalesets/${id}`));
    } catch (error) {
      if (isGone(error)) return null;
      throw error;
    }
  }

  /** Creates an ephemeral scale set with these labels (fixed from now on). */
  async createScaleSet(spec: { name: string; runnerGroupId: number; labels: string[] }) {
    return scaleSetOf(
      await this.#call("POST", "_apis/runtime/runnerscalesets", {
        body: {
          name: spec.name,
          runnerGroupId: spec.runnerGroupId,
          labels: spec.labels.map((name) => ({ name, type: "System" })),
          RunnerSetting: { ephemeral: true, isElastic: true, disableUpdate: true },
        },
      }),
    );
  }

  /** Deletes scale set `id`; true if it was there. */
  async deleteScaleSet(id: number): Promise<boolean> {
    try {
      await this.#call("DELETE", `_apis/runtime/runnerscalesets/${id}`);
      return true;
    } catch (error) {
      if (isGone(error)) return false;
      throw error;
    }
  }

  /** Opens the scale set's one listener session (409 while another is open). */
  async createSession(scaleSetId: number, ownerName: string): Promise<ScaleSetSession> {
    return sessionOf(
      await this.#call("POST", `_apis/runtime/runnerscalesets/${scaleSetId}/sessions`, {
        body: { ownerName },
      }),
    );
  }

  /** A fresh queue token for the session. */
  async refreshSession(scaleSetId: number, sessionId: string): Promise<ScaleSetSession> {
    return sessionOf(
      await this.#call(
        "PATCH",
        `_apis/runtime/runnerscalesets/${scaleSetId}/sessions/${sessionId}`,
      ),
    );
  }

  /** Closes a session; one already gone is fine. */
  async deleteSession(scaleSetId: number, sessionId: string): Promise<void> {
    try {
      await this.#call(
        "DELETE",
        `_apis/runtime/runnerscalesets/${scaleSetId}/sessions/${sessionId}`,
      );
    } catch (error) {
      if (!isGone(error)) throw error;
    }
  }

  /**
   * The next message after `lastMessageId`, or null when the long poll ends without one.
   * `capacity` tells GitHub how many jobs the scale set may hold at once.
   */
  async message(
    session: ScaleSetSession,
    lastMessageId: number,
    capacity: number,
    signal: AbortSignal,
  ): Promise<QueueMessage | null> {
    const url = new URL(session.messageQueueUrl);
    if (lastMessageId > 0) url.searchParams.set("lastMessageId", String(lastMessageId));
    const response = await this.options.pollFetch(url, {
      headers: {
        accept: `application/json; api-version=${API_VERSION}`,
        authorization: `Bearer ${session.messageQueueAccessToken}`,
        "user-agent": userAgent(),
        "x-scalesetmaxcapacity": String(capacity),
      },
      signal,
    });
    if (response.status === 202) {
      await response.body?.cancel();
      return null;
    }
    const data = await answer(response, "GET", "the message queue", 200);
    const message = data as { messageId?: unknown; messageType?: unknown; body?: unknown };
    if (
      typeof message.messageId !== "number" ||
      message.messageType !== "RunnerScaleSetJobMessages"
    ) {
      throw new Error(`The message queue sent a message of type ${String(message.messageType)}`);
    }
    const body = typeof message.body === "string" && message.body !== ""
      ? JSON.parse(message.body)
      : [];
    return {
      messageId: message.messageId,
      statistics: statisticsOf((data as { statistics?: unknown }).statistics),
      jobs: Array.isArray(body) ? body.filter(isJobEvent) : [],
    };
  }

  /** Acknowledges a message: it is not sent again. */
  async deleteMessage(session: ScaleSetSession, messageId: number): Promise<void> {
    const url = new URL(session.messageQueueUrl);
    url.pathname = `${url.pathname.replace(/\/$/, "")}/${messageId}`;
    const response = await this.#send(url, {
      method: "DELETE",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${session.messageQueueAccessToken}`,
        "user-agent": userAgent(),
      },
    });
    await answer(response, "DELETE", "a message", 204);
  }

  /** Claims available jobs for the scale set (GitHub Enterprise Server); returns those it got. */
  async acquireJobs(
    scaleSetId: number,
    session: ScaleSetSession,
    requestIds: number[],
  ): Promise<number[]> {
    const data = await this.#call(
      "POST",
      `_apis/runtime/runnerscalesets/${scaleSetId}/acquirejobs`,
      {
        body: requestIds,
        token: session.messageQueueAccessToken,
      },
    ) as { value?: unknown };
    return Array.isArray(data.value) ? data.value.filter((v) => typeof v === "number") : [];
  }

  /** Registers a just-in-time runner of the scale set; returns its id and encoded config. */
  async generateJitConfig(
    scaleSetId: number,
    name: string,
  ): Promise<{ id: number; jitConfig: string }> {
    const data = await this.#call(
      "POST",
      `_apis/runtime/runnerscalesets/${scaleSetId}/generatejitconfig`,
      { body: { name, workFolder: "_work" } },
    ) as { runner?: { id?: unknown }; encodedJITConfig?: unknown };
    if (typeof data.runner?.id !== "number" || typeof data.encodedJITConfig !== "string") {
      throw new Error(`generatejitconfig for runner ${name} answered without a runner or config`);
    }
    return { id: data.runner.id, jitConfig: data.encodedJITConfig };
  }

  /** Removes a runner: `deleted`, `busy` (it runs a job: later) or `gone`. */
  async deleteRunner(runnerId: number): Promise<"deleted" | "busy" | "gone"> {
    try {
      await this.#call("DELETE", `_apis/distributedtask/pools/0/agents/${runnerId}`);
      return "deleted";
    } catch (error) {
      if (error instanceof ActionsServiceError && error.typeName.includes("JobStillRunning")) {
        return "busy";
      }
      if (isGone(error)) return "gone";
      throw error;
    }
  }

  /** A call to the Actions service with the admin token, fetched again once on a 401. */
  async #call(
    method: string,
    path: string,
    options: { query?: Record<string, string>; body?: unknown; token?: string } = {},
  ): Promise<unknown> {
    for (let attempt = 0;; attempt++) {
      const admin = await this.#adminConnection(attempt > 0);
      const url = new URL(path, admin.url.endsWith("/") ? admin.url : `${admin.url}/`);
      for (const [name, value] of Object.entries(options.query ?? {})) {
        url.searchParams.set(name, value);
      }
      url.searchParams.set("api-version", API_VERSION);
      // A POST that makes something (a scale set, a session, a runner) is not sent twice: the
      // first may have been made, and the second would meet it.
      const once = method === "POST" && options.token === undefined;
      const response = await this.#send(url, {
        method,
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${options.token ?? admin.token}`,
          "user-agent": userAgent(),
        },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      }, once ? 1 : TRIES);
      if (response.status === 401 && attempt === 0 && options.token === undefined) {
        await response.body?.cancel();
        continue;
      }
      const ok = method === "DELETE" ? 204 : 200;
      return await answer(response, method, `/${path}`, ok);
    }
  }

  /**
   * Sends a request, up to `tries` times while the service is busy or failing (429, 5xx but
   * 501, or `also`) or out of reach, waiting 1 s, 2 s, 4 s (or its `Retry-After`) between.
   */
  async #send(
    url: URL | string,
    init: RequestInit,
    tries = TRIES,
    also: readonly number[] = [],
  ): Promise<Response> {
    for (let attempt = 0;; attempt++) {
      let response: Response | null = null;
      try {
        response = await this.options.fetch(url, init);
        if (attempt + 1 >= tries || !retried(response.status, also)) return response;
        await response.body?.cancel();
      } catch (error) {
        if (attempt + 1 >= tries || this.options.signal?.aborted) throw error;
      }
      await abortableSleep(this.options.signal ?? NEVER)(retryWait(attempt, response));
    }
  }

  /**
   * The admin connection: a registration token from the REST API, traded at
   * `/actions/runner-registration` for the service's address and an admin token (a JWT whose
   * `exp` says how long it holds).
   */
  async #adminConnection(force: boolean): Promise<AdminConnection> {
    const now = this.options.now().getTime();
    if (this.#admin && !force && this.#admin.expiresAt - 60_000 > now) return this.#admin;
    let token: string;
    try {
      const response = await this.github.request(
        "POST /orgs/{org}/actions/runners/registration-token",
        { org: this.options.org },
      );
      token = String((response.data as { token?: unknown }).token ?? "");
    } catch (error) {
      throw authErrorFor(error) ?? error;
    }
    const url = `${this.options.apiUrl.replace(/\/$/, "")}/actions/runner-registration`;
    // A registration token just made may not be known everywhere yet: 401 and 403 are tried
    // again too, as actions/scaleset does.
    const response = await this.#send(
      url,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `RemoteAuth ${token}`,
          "user-agent": userAgent(),
        },
        body: JSON.stringify({ url: this.options.configUrl, runner_event: "register" }),
      },
      TRIES,
      [401, 403],
    );
    const data = await answer(response, "POST", "/actions/runner-registration", 0) as {
      url?: unknown;
      token?: unknown;
    };
    if (typeof data.url !== "string" || typeof data.token !== "string" || !data.url) {
      throw new Error("/actions/runner-registration answered without the service's url and token");
    }
    this.#admin = { url: data.url, token: data.token, expiresAt: jwtExpiry(data.token) };
    return this.#admin;
  }
}

/** Whether an answer with this status is worth asking again (busy or failing, not refused). */
function retried(status: number, also: readonly number[]): boolean {
  return status === 429 || (status >= 500 && status !== 501) || also.includes(status);
}

/** The exponential wait before try `attempt` (1, 2, 4 s...), or what `Retry-After` asks. */
function retryWait(attempt: number, response: Response | null): number {
  const after = Number(response?.headers.get("retry-after"));
  const wait = Number.isFinite(after) && after > 0 ? after * 1000 : 1000 * 2 ** attempt;
  return Math.min(MAX_RETRY_WAIT_MS, wait);
}

/** The `exp` of a JWT (unverified: the service checks it), in epoch ms. */
function jwtExpiry(token: string): number {
  try {
    const payload = token.split(".")[1] ?? "";
    const base64 = payload.replaceAll("-", "+").replaceAll("_", "/");
    const claims = JSON.parse(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "=")));
    if (typeof claims.exp === "number") return claims.exp * 1000;
  } catch {
    // Not a JWT: said below.
  }
  throw new Error("The admin token /actions/runner-registration gave is not a JWT with an exp");
}

function userAgent(): string {
  return JSON.stringify({ system: "github-autoscaler", version: VERSION, kind: "scaleset" });
}

/**
 * The JSON of an answer with status `ok` (0: any 2xx), or an `ActionsServiceError` with the
 * service's exception name and message.
 */
async function answer(
  response: Response,
  method: string,
  what: string,
  ok: number,
): Promise<unknown> {
  const text = (await response.text()).replace(/^\uFEFF/, "");
  const success = ok === 0 ? response.ok : response.status === ok;
  if (success) return text === "" ? null : JSON.parse(text);
  let typeName = "";
  let detail = text.slice(0, 200);
  try {
    const error = JSON.parse(text) as { typeName?: unknown; message?: unknown };
    typeName = typeof error.typeName === "string" ? error.typeName : "";
    if (typeof error.message === "string") detail = error.message;
  } catch {
    // A plain-text answer: its text is the detail.
  }
  throw new ActionsServiceError(method, what, response.status, typeName, detail);
}

function scaleSetOf(value: unknown): ScaleSet {
  const set = value as {
    id?: unknown;
    name?: unknown;
    runnerGroupId?: unknown;
    labels?: { name?: unknown }[];
  } | null;
  if (typeof set?.id !== "number" || typeof set.name !== "string") {
    throw new Error("The Actions service described a runner scale set without an id or name");
  }
  return {
    id: set.id,
    name: set.name,
    runnerGroupId: typeof set.runnerGroupId === "number" ? set.runnerGroupId : 1,
    labels: (set.labels ?? []).flatMap((l) => typeof l?.name === "string" ? [l.name] : []),
  };
}

function sessionOf(value: unknown): ScaleSetSession {
  const session = value as Partial<Record<keyof ScaleSetSession, unknown>> | null;
  if (
    typeof session?.sessionId !== "string" || typeof session.messageQueueUrl !== "string" ||
    typeof session.messageQueueAccessToken !== "string"
  ) {
    throw new Error("The Actions service opened a session without its id, queue or token");
  }
  return {
    sessionId: session.sessionId,
    messageQueueUrl: session.messageQueueUrl,
    messageQueueAccessToken: session.messageQueueAccessToken,
    statistics: statisticsOf(session.statistics),
  };
}

const STATISTICS: (keyof ScaleSetStatistics)[] = [
  "totalAvailableJobs",
  "totalAcquiredJobs",
  "totalAssignedJobs",
  "totalRunningJobs",
  "totalRegisteredRunners",
  "totalBusyRunners",
  "totalIdleRunners",
];

function statisticsOf(value: unknown): ScaleSetStatistics {
  const stats = (value ?? {}) as Record<string, unknown>;
  return Object.fromEntries(
    STATISTICS.map((name) => [name, typeof stats[name] === "number" ? stats[name] : 0]),
  ) as unknown as ScaleSetStatistics;
}

function isJobEvent(value: unknown): value is JobEvent {
  const job = value as Partial<JobEvent> | null;
  return typeof job?.messageType === "string" && typeof job.runnerRequestId === "number";
}
