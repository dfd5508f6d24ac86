import assert from "node:assert/strict";
import { SimWorld } from "../../lib/simulator/world.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

Deno.test("the simulator's rate limit resets an hour after its window began, whatever the hour", async () => {
  // Twenty seconds before the top of an hour: a reset at the hour would come in 20 s, and what
  // a test of a spent limit sees would depend on the time of day it ran.
  let now = Date.parse("2026-12-01T09:59:40Z");
  const world = new SimWorld(() => new Date(now));
  await withSimulator(async (sim) => {
    const answer = async () => {
      const response = await fetch(`${sim.url}/rate_limit`, {
        headers: { authorization: `token ${TOKEN}` },
      });
      return (await response.json()).rate.reset as number;
    };
    const first = await answer();
    assert.equal(first, Date.parse("2026-12-01T10:59:40Z") / 1000);
    now += 30_000;
    assert.equal(await answer(), first, "the window does not move with the clock");
  }, { world });
});
