/** A small HTTP server of ours: the port it got, and how to stop it. */
export interface Listening {
  port: number;
  shutdown(): Promise<void>;
}

/** Serves `handler` on `hostname:port` (port 0: any free one) and resolves once listening. */
export function listen(
  hostname: string,
  port: number,
  handler: (request: Request) => Response | Promise<Response>,
): Promise<Listening> {
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname,
      port,
      onListen: (addr) => resolve({ port: addr.port, shutdown: () => server.shutdown() }),
    }, handler);
  });
}
