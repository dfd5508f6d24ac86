import assert from "node:assert/strict";
import { cliCommand } from "../helpers/cli.ts";
import { TOKEN } from "../helpers/sim.ts";

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
    async close() {
      listener.close();
      for (const conn of held) conn.close();
      await accepting;
    },
  };
}

/** Spawns the CLI and collects its stderr as it comes. */
async function spawn(args: string[]) {
  const child = (await cliCommand(args, { env: { GH_TOKEN: TOKEN } })).spawn();
  child.stdout.cancel();
  let log = "";
  const reading = (async () => {
    for await (const chunk of child.stderr) log += new TextDecoder().decode(chunk);
  })();
  return { child, log: () => log, reading };
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

async function until(what: string, done: () => boolean, log: () => string, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; log:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("faults: a GitHub that never answers ends each cycle at the deadline; the loop goes on", async () => {
  const server = hungServer();
  const { child, log, reading } = await spawn([
    "run",
    "--dry-run",
    "--interval",
    "0.1",
    "--api-timeout",
    "1",
    "--api-url",
    server.url,
  ]);
  try {
    await until(
      "two cycles to fail on the deadline",
      () => (log().match(/Cycle \d+ failed: .*no answer within 1 s/g) ?? []).length >= 2,
      log,
    );
  } finally {
    child.kill("SIGTERM");
    assert.equal(await exitWithin(child, 10_000), 0, log());
    await reading;
    await server.close();
  }
});

for (const args of [["run", "--dry-run"], ["plan"], ["doctor"]]) {
  Deno.test(`faults: SIGTERM ends "${args[0]}" within 10 s while GitHub never answers`, async () => {
    const server = hungServer();
    const { child, log, reading } = await spawn([...args, "--api-url", server.url]);
    try {
      // The first request is in flight once the server holds a connection.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const early = await Promise.race([
        child.status.then(() => true),
        new Promise((resolve) => setTimeout(() => resolve(false), 10)),
      ]);
      assert.equal(early, false, `ended before SIGTERM:\n${log()}`);
      child.kill("SIGTERM");
      const code = await exitWithin(child, 10_000);
      assert.notEqual(code, null, `still running 10 s after SIGTERM:\n${log()}`);
    } finally {
      await reading;
      await server.close();
    }
  });
}
