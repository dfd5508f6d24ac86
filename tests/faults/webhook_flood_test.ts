import assert from "node:assert/strict";
import { sign } from "@octokit/webhooks-methods";
import {
  MAX_REQUESTS_AT_ONCE,
  serveWebhooks,
  type WebhookResult,
} from "../../lib/daemon/webhook.ts";

// Unsigned floods: the receiver must stay small and stoppable before any signature is checked.

const SECRET = "s3cret-for-tests";
const encoder = new TextEncoder();

type ReceiverOptions = { bodyDeadlineMs?: number; shutdownDeadlineMs?: number };

/** A receiver on 127.0.0.1 with `options`, and the results it reports. */
async function receiver(options: ReceiverOptions) {
  const results: WebhookResult[] = [];
  const server = await serveWebhooks({
    hostname: "127.0.0.1",
    port: 0,
    secret: SECRET,
    onJob: () => {},
    onResult: (result) => results.push(result),
    ...options,
  });
  return { server, results };
}

/** Starts a receiver with `options`, runs `fn`, and always shuts it down within a bounded wait. */
async function withReceiver(
  options: ReceiverOptions,
  fn: (port: number, results: WebhookResult[]) => Promise<void>,
) {
  const { server, results } = await receiver(options);
  try {
    await fn(server.port, results);
  } finally {
    await within(server.shutdown(), 10_000, "shutdown() did not resolve");
  }
}

/** `promise`, or a failure naming `what` once `ms` pass; the timer never outlives the wait. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Writes all of `bytes` (a socket write may take only part). */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array) {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

/** Opens a connection that sends headers promising `declared` bytes, then `sent` of them, and stalls. */
async function stalled(port: number, declared: number, sent: number, head = "") {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(
    conn,
    encoder.encode(
      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-GitHub-Event: workflow_job\r\n" +
        `X-Hub-Signature-256: sha256=${"0".repeat(64)}\r\nContent-Length: ${declared}\r\n\r\n` +
        head,
    ),
  );
  await writeAll(conn, new Uint8Array(sent).fill(0x20));
  return conn;
}

/** The status of the answer on `conn`, or null if it closes (or is closed) first. */
async function statusOf(conn: Deno.Conn): Promise<number | null> {
  const buffer = new Uint8Array(1024);
  let text = "";
  for (;;) {
    const n = await conn.read(buffer).catch(() => null);
    if (n === null) return null;
    text += new TextDecoder().decode(buffer.subarray(0, n));
    const match = /^HTTP\/1\.1 (\d{3}) /.exec(text);
    if (match) return Number(match[1]);
  }
}

/** Resolves once `ready()` holds, checking every 10 ms; fails with `what` after `ms`. */
function until(ready: () => boolean, ms: number, what: string): Promise<void> {
  let poll: ReturnType<typeof setInterval> | undefined;
  const met = new Promise<void>((resolve) => {
    poll = setInterval(() => ready() && resolve(), 10);
  });
  return within(met, ms, what).finally(() => clearInterval(poll));
}

/** Retries `attempt` until it gives `want`; fails with `what` and the last answer after `ms`. */
async function eventually<T>(attempt: () => Promise<T>, want: T, ms: number, what: string) {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await within(attempt(), ms, what);
    if (last === want) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`${what} within ${ms} ms (last answer: ${last})`);
}

/** A correctly signed `workflow_job` `queued` event, sent with fetch. */
async function postValid(port: number): Promise<number> {
  const body = JSON.stringify({ action: "queued", workflow_job: { id: 1 } });
  const response = await fetch(`http://127.0.0.1:${port}/`, {
    method: "POST",
    headers: { "x-github-event": "workflow_job", "x-hub-signature-256": await sign(SECRET, body) },
    body,
  });
  await response.body?.cancel();
  return response.status;
}

/** Closes every connection (ignoring ones already closed) and waits for their readers. */
async function closeAll(conns: Deno.Conn[], readers: Promise<unknown>[]) {
  for (const conn of conns) {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
  await within(Promise.all(readers), 5_000, "readers did not end after closing");
}

Deno.test("faults: past the cap, stalled bodies are answered 503 unread; freed slots let a good event in", async () => {
  await withReceiver({ bodyDeadlineMs: 60_000 }, async (port, results) => {
    const extra = 8;
    const conns: Deno.Conn[] = [];
    const answers: (number | null)[] = [];
    const readers: Promise<unknown>[] = [];
    try {
      for (let i = 0; i < MAX_REQUESTS_AT_ONCE + extra; i++) {
        const conn = await stalled(port, 1_000_000, 64 * 1024);
        conns.push(conn);
        readers.push(statusOf(conn).then((status) => answers.push(status)));
      }
      await until(
        () => answers.length >= extra,
        5_000,
        `the ${extra} requests past ${MAX_REQUESTS_AT_ONCE} stalled ones were not answered`,
      );
      assert.deepEqual(answers, Array(extra).fill(503), "requests past the cap get 503");
      assert.equal(await postValid(port), 503, "a valid event is refused while the cap is full");
    } finally {
      await closeAll(conns, readers);
    }
    // A client that hangs up ends its request, so its slot comes back without waiting out a deadline.
    await eventually(() => postValid(port), 202, 5_000, "a valid event was not served once freed");
    assert.ok(results.includes("busy"));
  });
});

Deno.test("faults: a stalled or trickling body gets 408 after the body deadline, and its slot is freed", async () => {
  await withReceiver({ bodyDeadlineMs: 300 }, async (port, results) => {
    const conns: Deno.Conn[] = [];
    const answers: Promise<number | null>[] = [];
    // One client sends a byte every 20 ms: the deadline is for the whole body, not between bytes.
    let trickle: ReturnType<typeof setInterval> | undefined;
    try {
      for (let i = 0; i < MAX_REQUESTS_AT_ONCE; i++) {
        conns.push(await stalled(port, 1_000_000, i === 0 ? 0 : 900 * 1024));
        answers.push(statusOf(conns[i]!));
      }
      trickle = setInterval(() => conns[0]!.write(new Uint8Array([0x20])).catch(() => {}), 20);
      const statuses = await within(
        Promise.all(answers),
        5_000,
        "stalled bodies were not answered after a 300 ms body deadline",
      );
      assert.deepEqual(statuses, Array(MAX_REQUESTS_AT_ONCE).fill(408));
      assert.equal(await postValid(port), 202, "the slots of timed-out bodies are free again");
    } finally {
      clearInterval(trickle);
      await closeAll(conns, answers);
    }
    assert.equal(results.filter((r) => r === "too-slow").length, MAX_REQUESTS_AT_ONCE);
  });
});

Deno.test("faults: shutdown() ends within its deadline with a body stalled; a body finishing in time is served", async () => {
  const { server, results } = await receiver({ shutdownDeadlineMs: 1_000 });
  const body = JSON.stringify({ action: "queued", pad: "x".repeat(4096) });
  const signature = await sign(SECRET, body);
  const conns: Deno.Conn[] = [];
  const answers: Promise<number | null>[] = [];
  let stopping: Promise<void> | undefined;
  try {
    conns.push(await stalled(server.port, 1_000_000, 64 * 1024));
    conns.push(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
    await writeAll(conns[1]!, encoder.encode("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: "));
    const finishing = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    conns.push(finishing);
    await writeAll(
      finishing,
      encoder.encode(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-GitHub-Event: workflow_job\r\n" +
          `X-Hub-Signature-256: ${signature}\r\nContent-Length: ${body.length}\r\n\r\n` +
          body.slice(0, 100),
      ),
    );
    answers.push(...conns.map(statusOf));
    // Give the server a moment to take up both requests before it is asked to stop (if it has
    // not, the assertions below still hold; they only test less).
    await new Promise((resolve) => setTimeout(resolve, 200));
    stopping = server.shutdown();
    await writeAll(finishing, encoder.encode(body.slice(100)));
    await within(stopping, 5_000, "shutdown() did not resolve with a body stalled");
    assert.equal(
      await within(answers[2]!, 5_000, "the body that finished during shutdown was not answered"),
      202,
    );
    const [stalledAnswer, halfHeaders] = await within(
      Promise.all([answers[0]!, answers[1]!]),
      5_000,
      "shutdown() left a stalled connection open",
    );
    // Cut off, it may get its 408 or nothing; never a success.
    assert.ok(stalledAnswer === null || stalledAnswer >= 400, `stalled body got ${stalledAnswer}`);
    assert.equal(halfHeaders, null, "a connection stalled mid-headers is closed");
  } finally {
    await closeAll(conns, answers);
    if (!stopping) await server.shutdown();
  }
  assert.deepEqual(results.filter((r) => r === "queued"), ["queued"]);
});
