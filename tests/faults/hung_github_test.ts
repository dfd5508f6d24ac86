import assert from "node:assert/strict";
import { deadlineFetch } from "../../lib/github/client.ts";
import { spawnCli } from "../helpers/cli.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

/** A server on 127.0.0.1 that accepts connections and never answers; closed by `close()`. */
function hungServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) held.push(conn);
    } catch { /* closed */ }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    /** Connections accepted and held so far (requests in flight). */
    held: () => held.length,
    async close() {
      listener.close();
      for (const conn of held) conn.close();
      await accepting;
    },
  };
}

/** Waits for the child's exit for at most `ms`; kills it with SIGKILL after that. */
async function exitWithin(child: Deno.ChildProcess, ms: number): Promise<number | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), ms));
  const status = await Promise.race([child.status, late]);
  clearTimeout(timer);
  if (status === null) {
    child.kill("SIGKILL");
    await child.status;
    return null;
  }
  return status.code;
}

Deno.test("faults: a GitHub that never answers ends each cycle at the deadline; the loop goes on", async () => {
  const server = hungServer();
  const daemon = await spawnCli(
    ["run", "--dry-run", "--interval", "0.1", "--api-timeout", "1", "--api-url", server.url],
    { env: { GH_TOKEN: TOKEN } },
  );
  try {
    await daemon.waitFor(/(Cycle \d+ failed: .*no answer within 1 s[\s\S]*){2}/);
  } finally {
    assert.equal(await daemon.stop(), 0, daemon.log());
    await server.close();
  }
});

for (const args of [["run", "--dry-run"], ["plan"], ["doctor"]]) {
  Deno.test(`faults: SIGTERM ends "${args[0]}" at once while its request to GitHub hangs`, async () => {
    const server = hungServer();
    const running = await spawnCli([...args, "--api-url", server.url], {
      env: { GH_TOKEN: TOKEN },
    });
    try {
      const deadline = Date.now() + 15_000;
      while (server.held() === 0) {
        if (Date.now() > deadline) throw new Error(`no request in flight:\n${running.log()}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      running.child.kill("SIGTERM");
      // Well inside the 8 s after which main.ts cuts any command short: the request is aborted.
      const code = await exitWithin(running.child, 3_000);
      assert.notEqual(code, null, `still running 3 s after SIGTERM:\n${running.log()}`);
      if (args[0] === "run") assert.equal(code, 0, running.log());
      assert.doesNotMatch(running.log(), /still busy/);
    } finally {
      await running.stop();
      await server.close();
    }
  });
}

/** A server sending `chunks` pieces of body, `gapMs` apart, then (unless `stall`) the end. */
async function withTrickle(
  chunks: number,
  gapMs: number,
  stall: boolean,
  fn: (url: string) => Promise<void>,
) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    let sent = 0;
    let timer: ReturnType<typeof setInterval>;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        timer = setInterval(() => {
          if (sent === chunks) {
            clearInterval(timer);
            if (!stall) controller.close();
            return;
          }
          sent++;
          controller.enqueue(new Uint8Array(1024));
        }, gapMs);
      },
      cancel() {
        clearInterval(timer);
      },
    });
    return new Response(body);
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/asset`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("faults: a download that keeps coming is never cut; one that stalls mid-body is", async () => {
  const fetchWithin1s = deadlineFetch(1000);
  await withTrickle(8, 300, false, async (url) => {
    // 2.4 s in all, but never 1 s without a part: it arrives whole.
    const bytes = await (await fetchWithin1s(url)).arrayBuffer();
    assert.equal(bytes.byteLength, 8 * 1024);
  });
  await withTrickle(2, 100, true, async (url) => {
    const response = await fetchWithin1s(url);
    await assert.rejects(
      response.arrayBuffer(),
      /GET http:\/\/127\.0\.0\.1:\d+\/asset: no answer within 1 s/,
    );
  });
});

Deno.test("faults: SIGTERM while every repository's request hangs is told once, not per repository", async () => {
  await withSimulator(async (sim) => {
    for (const name of ["a", "b", "c"]) sim.world.addRepo(`acme/${name}`, { org: true });
    const hang = {
      path: /\/actions\/runs$/,
      status: 200,
      body: "",
      times: 3,
      mode: "hang" as const,
    };
    sim.faults.push(hang);
    const daemon = await spawnCli(["run", "--dry-run", "--api-url", sim.url], {
      env: { GH_TOKEN: TOKEN },
    });
    try {
      const deadline = Date.now() + 15_000;
      while (hang.times > 0) {
        if (Date.now() > deadline) throw new Error(`not all three hang:\n${daemon.log()}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      assert.equal(await daemon.stop(), 0, daemon.log());
    }
    assert.match(daemon.log(), /Cycle 1 cut short: Stopped by SIGTERM/);
    assert.doesNotMatch(daemon.log(), /Skipped|WARNING|ERROR/);
  });
});
