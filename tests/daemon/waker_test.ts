import assert from "node:assert/strict";
import { Waker } from "../../lib/daemon/waker.ts";

const within = (ms: number, promise: Promise<void>) =>
  Promise.race([
    promise.then(() => "ended"),
    new Promise((resolve) => setTimeout(() => resolve("waiting"), ms)),
  ]);

Deno.test("waker: a webhook ends a polling wait at once", async () => {
  const waker = new Waker();
  const stop = new AbortController();
  const waiting = waker.wait(60_000, stop.signal);
  waker.wake();
  assert.equal(await within(1000, waiting), "ended");
});

Deno.test("waker: a webhook does not end a rate-limit wait; it is kept for the next wait", async () => {
  const waker = new Waker();
  const stop = new AbortController();
  const limited = waker.wait(60_000, stop.signal, false);
  waker.wake();
  assert.equal(await within(200, limited), "waiting");
  stop.abort();
  assert.equal(await within(1000, limited), "ended", "SIGTERM still ends it");
  assert.equal(await within(1000, waker.wait(60_000, new AbortController().signal)), "ended");
});
