import assert from "node:assert/strict";
import { sign } from "@octokit/webhooks-methods";
import { Waker } from "../../lib/daemon/waker.ts";
import { MAX_BODY_BYTES, serveWebhooks, type WebhookResult } from "../../lib/daemon/webhook.ts";

const SECRET = "s3cret-for-tests";

async function withReceiver(
  fn: (
    post: (event: string, body: string, signature?: string | null) => Promise<Response>,
  ) => Promise<void>,
  wakeOnStart = false,
) {
  const jobs: string[] = [];
  const results: WebhookResult[] = [];
  const server = await serveWebhooks({
    hostname: "127.0.0.1",
    port: 0,
    secret: SECRET,
    onJob: (action) => jobs.push(action),
    onResult: (result) => results.push(result),
    wakeOnStart,
  });
  const post = async (event: string, body: string, signature?: string | null) =>
    await fetch(`http://127.0.0.1:${server.port}/`, {
      method: "POST",
      headers: {
        "x-github-event": event,
        "content-type": "application/json",
        ...(signature === null
          ? {}
          : { "x-hub-signature-256": signature ?? await sign(SECRET, body) }),
      },
      body,
    });
  try {
    await fn(post);
  } finally {
    await server.shutdown();
  }
  return { jobs, results };
}

Deno.test("webhooks: signed ping and workflow_job events are accepted; queued and completed wake", async () => {
  const { jobs, results } = await withReceiver(async (post) => {
    const ping = await post("ping", '{"zen":"Keep it logically awesome."}');
    assert.equal([ping.status, await ping.text()].join(" "), "200 pong\n");
    for (const action of ["queued", "in_progress", "completed"]) {
      const response = await post(
        "workflow_job",
        JSON.stringify({ action, workflow_job: { id: 1 } }),
      );
      assert.equal(response.status, 202);
      await response.body?.cancel();
    }
  });
  assert.deepEqual(jobs, ["queued", "completed"]);
  assert.deepEqual(results, ["ping", "queued", "ignored", "completed"]);
});

Deno.test("webhooks: with a warm pool a job started wakes too: a pool runner was taken", async () => {
  const { jobs, results } = await withReceiver(async (post) => {
    for (const action of ["queued", "in_progress", "completed", "waiting"]) {
      const response = await post("workflow_job", JSON.stringify({ action }));
      assert.equal(response.status, 202);
      await response.body?.cancel();
    }
  }, true);
  assert.deepEqual(jobs, ["queued", "in_progress", "completed"]);
  assert.deepEqual(results, ["queued", "in_progress", "completed", "ignored"]);
});

Deno.test("webhooks: bad or missing signatures, wrong events, bad bodies and floods change nothing", async () => {
  const { jobs, results } = await withReceiver(async (post) => {
    const body = JSON.stringify({ action: "queued" });
    const cases: [Promise<Response>, number][] = [
      [post("workflow_job", body, null), 401],
      [post("workflow_job", body, "sha256=" + "0".repeat(64)), 401],
      [post("workflow_job", body, await sign("another secret", body)), 401],
      [post("push", "{}"), 400],
      [post("workflow_job", "{not json"), 400],
      [post("workflow_job", "x".repeat(MAX_BODY_BYTES + 1)), 413],
    ];
    for (const [response, status] of cases) {
      const answered = await response;
      assert.equal(answered.status, status);
      await answered.body?.cancel();
    }
    const flood = await Promise.all(
      Array.from({ length: 200 }, () => post("workflow_job", body, "sha256=bad")),
    );
    assert.ok(flood.every((r) => r.status === 401));
    await Promise.all(flood.map((r) => r.body?.cancel()));
    const valid = await post("workflow_job", body);
    assert.equal(valid.status, 202, "a good event still gets through after a flood");
    await valid.body?.cancel();
  });
  assert.deepEqual(jobs, ["queued"]);
  assert.equal(results.filter((r) => r === "bad-signature").length, 203);
});

Deno.test("webhooks: a streamed body with no Content-Length is cut off once it passes the cap", async () => {
  const seen: WebhookResult[] = [];
  const server = await serveWebhooks({
    hostname: "127.0.0.1",
    port: 0,
    secret: SECRET,
    onJob: () => {},
    onResult: (result) => seen.push(result),
  });
  try {
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > 2 * MAX_BODY_BYTES) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const response = await fetch(`http://127.0.0.1:${server.port}/`, {
      method: "POST",
      headers: { "x-github-event": "workflow_job" },
      body,
    });
    assert.equal(response.status, 413);
    await response.body?.cancel();
  } finally {
    await server.shutdown();
  }
  assert.deepEqual(seen, ["too-large"]);
});

Deno.test("the waker cuts a wait short, and a wake with no wait ends the next one at once", async () => {
  const waker = new Waker();
  const stop = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const never = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve("not woken"), 10_000);
  });
  const waiting = waker.wait(3_600_000, stop.signal).then(() => "woken");
  waker.wake();
  assert.equal(await Promise.race([waiting, never]), "woken");
  waker.wake();
  assert.equal(
    await Promise.race([waker.wait(3_600_000, stop.signal).then(() => "woken"), never]),
    "woken",
  );
  clearTimeout(timer);
});
