import { listen, type Listening } from "./listen.ts";
import type { Metrics } from "./metrics.ts";

/**
 * Serves `/metrics` (Prometheus text format) and `/healthz`: 200 while a cycle has succeeded
 * within `healthyWithinMs`, else 503.
 */
export function serveMetrics(options: {
  hostname: string;
  port: number;
  metrics: Metrics;
  healthyWithinMs: number;
}): Promise<Listening> {
  const { metrics } = options;
  return listen(options.hostname, options.port, async (request) => {
    const path = new URL(request.url).pathname;
    if (request.method !== "GET") return new Response("GET only\n", { status: 405 });
    if (path === "/metrics") {
      return new Response(await metrics.registry.metrics(), {
        headers: { "content-type": metrics.registry.contentType },
      });
    }
    if (path === "/healthz") {
      const age = Date.now() - metrics.lastSuccess;
      return metrics.lastSuccess > 0 && age <= options.healthyWithinMs
        ? new Response("ok\n")
        : new Response(
          metrics.lastSuccess === 0
            ? "no cycle has succeeded yet\n"
            : `last good cycle ${Math.round(age / 1000)} s ago\n`,
          { status: 503 },
        );
    }
    return new Response("Not Found\n", { status: 404 });
  });
}
