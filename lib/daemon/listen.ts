import { getLogger } from "@logtape/logtape";

const log = getLogger(["autoscaler", "listen"]);

/** A small HTTP server of ours: the port it got, and how to stop it. */
export interface Listening {
  port: number;
  /** Stops the server; resolves within the shutdown deadline even if a client stalls. */
  shutdown(): Promise<void>;
}

/**
 * Answers one request. `stopping` aborts when shutdown's grace ends: a handler still waiting on
 * its client should give up then and answer at once.
 */
export type Handler = (request: Request, stopping: AbortSignal) => Response | Promise<Response>;

/** How long `shutdown()` lets requests in flight finish before it cuts their connections. */
export const SHUTDOWN_DEADLINE_MS = 2_000;

/** Once cut, how long to wait for the server to report itself closed before giving up on it. */
const CLOSE_WAIT_MS = 1_000;

/**
 * Serves `handler` on `hostname:port` (port 0: any free one) and resolves once listening.
 * `shutdown()` answers new requests 503, waits up to `shutdownDeadlineMs` for those in flight,
 * then aborts the rest and closes every connection.
 */
export function listen(
  hostname: string,
  port: number,
  handler: Handler,
  shutdownDeadlineMs = SHUTDOWN_DEADLINE_MS,
): Promise<Listening> {
  // Deno's graceful `server.shutdown()` waits for every connection mid-body (it even drains a
  // body the handler has answered without reading), so one stalled client holds it forever; and
  // once called, the non-graceful abort through `signal` is no longer possible. So we never call
  // it: we track requests ourselves and close through `signal`.
  const cut = new AbortController();
  const stopping = new AbortController();
  const inFlight = new Set<Promise<void>>();
  let closing: Promise<void> | undefined;
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname,
      port,
      signal: cut.signal,
      onListen: (addr) => resolve({ port: addr.port, shutdown }),
    }, (request, info) => {
      if (closing) return new Response("shutting down\n", { status: 503 });
      // A request ends when its answer is sent (or its client goes), not when the handler returns.
      const done = info.completed.catch(() => {});
      inFlight.add(done);
      void done.finally(() => inFlight.delete(done));
      return handler(request, stopping.signal);
    });

    function shutdown(): Promise<void> {
      closing ??= (async () => {
        if (!await settles(Promise.all(inFlight), shutdownDeadlineMs)) {
          log.warn("Cutting {count} request(s) still open after {ms} ms", {
            count: inFlight.size,
            ms: shutdownDeadlineMs,
          });
        }
        stopping.abort();
        cut.abort();
        if (!await settles(server.finished, CLOSE_WAIT_MS)) {
          log.warn("The server on port {port} did not close; leaving it", {
            port: server.addr.port,
          });
        }
      })();
      return closing;
    }
  });
}

/** Whether `promise` settles within `ms`; the timer never outlives the wait. */
async function settles(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
