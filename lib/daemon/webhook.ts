import { getLogger } from "@logtape/logtape";
import { verify } from "@octokit/webhooks-methods";
import { listen, type Listening } from "./listen.ts";

const log = getLogger(["autoscaler", "webhook"]);

/** Largest webhook body accepted (GitHub caps payloads at 25 MB; workflow_job ones are small). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** What the receiver made of one request, for metrics. */
export type WebhookResult =
  | "ping"
  | "queued"
  | "completed"
  | "ignored"
  | "bad-signature"
  | "bad-request"
  | "too-large";

/**
 * Receives GitHub's `workflow_job` webhooks: checks `X-Hub-Signature-256` against `secret`
 * (401 without a valid one), caps the body (413), answers `ping`, and calls `onJob` for `queued`
 * and `completed` jobs, so the loop can act at once. Other events are 400; nothing here changes
 * anything by itself.
 */
export function serveWebhooks(options: {
  hostname: string;
  port: number;
  secret: string;
  onJob: (action: "queued" | "completed") => void;
  onResult?: (result: WebhookResult) => void;
}): Promise<Listening> {
  const answer = (result: WebhookResult, status: number, text: string) => {
    options.onResult?.(result);
    if (status >= 400) log.debug("Webhook refused ({status}): {text}", { status, text });
    return new Response(`${text}\n`, { status });
  };
  return listen(options.hostname, options.port, async (request) => {
    if (request.method !== "POST") return answer("bad-request", 405, "POST only");
    const declared = Number(request.headers.get("content-length") ?? 0);
    if (declared > MAX_BODY_BYTES) return answer("too-large", 413, "body too large");
    const body = await readCapped(request);
    if (body === null) return answer("too-large", 413, "body too large");
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
    if (action === "queued" || action === "completed") {
      options.onJob(action);
      return answer(action, 202, `${action}: looking now`);
    }
    return answer("ignored", 202, `workflow_job ${String(action)}: nothing to do`);
  });
}

/** The body as text, or null once it passes `MAX_BODY_BYTES`. */
async function readCapped(request: Request): Promise<string | null> {
  const reader = request.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(bytes);
}
