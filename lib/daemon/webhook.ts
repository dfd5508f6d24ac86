import { getLogger } from "@logtape/logtape";
import { verify } from "@octokit/webhooks-methods";
import { listen, type Listening } from "./listen.ts";

const log = getLogger(["autoscaler", "webhook"]);

/** Largest webhook body accepted (GitHub caps payloads at 25 MB; workflow_job ones are small). */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Requests handled at once; more are answered 503 without reading their bodies, so however many
 * clients stall mid-body, buffered bodies stay under `MAX_REQUESTS_AT_ONCE * MAX_BODY_BYTES`.
 * GitHub sends one delivery per event, so a real burst is far smaller.
 */
export const MAX_REQUESTS_AT_ONCE = 32;

/** How long a request's whole body may take to arrive (GitHub itself gives up after 10 s). */
const BODY_DEADLINE_MS = 10_000;

/** What the receiver made of one request, for metrics. */
export type WebhookResult =
  | "ping"
  | "queued"
  | "in_progress"
  | "completed"
  | "ignored"
  | "bad-signature"
  | "bad-request"
  | "too-large"
  | "too-slow"
  | "busy";

/**
 * Receives GitHub's `workflow_job` webhooks: checks `X-Hub-Signature-256` against `secret`
 * (401 without a valid one), caps the body (413), answers `ping`, and calls `onJob` for `queued`
 * and `completed` jobs, and with `wakeOnStart` for `in_progress` ones (a warm-pool runner was
 * taken and is to be replaced), so the loop can act at once. Other events are 400; nothing here changes
 * anything by itself. At most `MAX_REQUESTS_AT_ONCE` requests are read at once (more get 503),
 * a body must arrive within `bodyDeadlineMs` (else 408), and `shutdown()` cuts what is still
 * open after `shutdownDeadlineMs`.
 */
export function serveWebhooks(options: {
  hostname: string;
  port: number;
  secret: string;
  onJob: (action: "queued" | "in_progress" | "completed") => void;
  onResult?: (result: WebhookResult) => void;
  /** Whether a job that started wakes the loop (with a warm pool). */
  wakeOnStart?: boolean;
  /** Default `BODY_DEADLINE_MS`. */
  bodyDeadlineMs?: number;
  /** Default `SHUTDOWN_DEADLINE_MS`. */
  shutdownDeadlineMs?: number;
}): Promise<Listening> {
  const bodyDeadlineMs = options.bodyDeadlineMs ?? BODY_DEADLINE_MS;
  const answer = (result: WebhookResult, status: number, text: string) => {
    options.onResult?.(result);
    if (status >= 400) log.debug("Webhook refused ({status}): {text}", { status, text });
    return new Response(`${text}\n`, { status });
  };
  let reading = 0;
  const receive = async (request: Request, stopping: AbortSignal) => {
    if (request.method !== "POST") return answer("bad-request", 405, "POST only");
    const declared = Number(request.headers.get("content-length") ?? 0);
    if (declared > MAX_BODY_BYTES) return answer("too-large", 413, "body too large");
    const body = await readCapped(request, bodyDeadlineMs, stopping);
    if (body === TOO_LARGE) return answer("too-large", 413, "body too large");
    if (body === TOO_SLOW) return answer("too-slow", 408, "body not received in time");
    if (body === BROKEN) return answer("bad-request", 400, "body could not be read");
    const signature = request.headers.get("x-hub-signature-256") ?? "";
    const valid = signature !== "" &&
      await verify(options.secret, body, signature).catch(() => false);
    if (!valid) return answer("bad-signature", 401, "bad or missing X-Hub-Signature-256");
    const event = request.headers.get("x-github-event");
    if (event === "ping") return answer("ping", 200, "pong");
    if (event !== "workflow_job") return answer("bad-request", 400, `unexpected event ${event}`);
    let action: unknown;
    try {
      action = JSON.parse(body)?.action;
    } catch {
      return answer("bad-request", 400, "body is not JSON");
    }
    if (
      action === "queued" || action === "completed" ||
      (action === "in_progress" && options.wakeOnStart)
    ) {
      options.onJob(action);
      return answer(action, 202, `${action}: looking now`);
    }
    return answer("ignored", 202, `workflow_job ${String(action)}: nothing to do`);
  };
  return listen(options.hostname, options.port, async (request, stopping) => {
    // Refused before anything is read: the unread body is discarded by the server as it comes.
    if (reading >= MAX_REQUESTS_AT_ONCE) return answer("busy", 503, "too many requests at once");
    reading++;
    try {
      return await receive(request, stopping);
    } finally {
      reading--;
    }
  }, options.shutdownDeadlineMs);
}

const TOO_LARGE = Symbol("too large");
const TOO_SLOW = Symbol("too slow");
const BROKEN = Symbol("broken");

/**
 * The body as text, read as it comes: `TOO_LARGE` once it passes `MAX_BODY_BYTES`, `TOO_SLOW` if
 * it has not all arrived within `deadlineMs` or `stopping` aborts first, `BROKEN` if the client
 * went away mid-body.
 */
async function readCapped(
  request: Request,
  deadlineMs: number,
  stopping: AbortSignal,
): Promise<string | typeof TOO_LARGE | typeof TOO_SLOW | typeof BROKEN> {
  const reader = request.body?.getReader();
  if (!reader) return "";
  const done = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<typeof TOO_SLOW>((resolve) => {
    timer = setTimeout(() => resolve(TOO_SLOW), deadlineMs);
    if (stopping.aborted) resolve(TOO_SLOW);
    // Removed when this read ends, so listeners do not pile up on the server-wide signal.
    stopping.addEventListener("abort", () => resolve(TOO_SLOW), { signal: done.signal });
  });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      // A read that fails (the client went away) ends the request quietly, without a stack trace.
      const next = await Promise.race([reader.read().catch((): typeof BROKEN => BROKEN), late]);
      if (next === TOO_SLOW || next === BROKEN) return next;
      if (next.done) break;
      size += next.value.length;
      if (size > MAX_BODY_BYTES) return TOO_LARGE;
      chunks.push(next.value);
    }
  } finally {
    clearTimeout(timer);
    done.abort();
    // Not awaited: the answer should not wait on a stalled client. It releases the pending read.
    reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(bytes);
}
