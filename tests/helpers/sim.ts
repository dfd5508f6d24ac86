import { GitHubSimulator, type SimulatorOptions } from "../../lib/simulator/server.ts";
import { SimWorld } from "../../lib/simulator/world.ts";

/** The token the test simulators accept. */
export const TOKEN = "ghp_" + "T".repeat(36);

/** The fixed "now" of test scenarios. */
export const NOW = new Date("2026-11-28T12:00:00Z");

/** Starts a simulator (accepting `TOKEN`, clock at `NOW`), runs `fn`, and always stops it. */
export async function withSimulator<T>(
  fn: (sim: GitHubSimulator) => Promise<T>,
  options: SimulatorOptions = {},
): Promise<T> {
  const sim = new GitHubSimulator({
    tokens: [TOKEN],
    world: new SimWorld(() => NOW),
    ...options,
  });
  await sim.start();
  try {
    return await fn(sim);
  } finally {
    await sim.stop();
  }
}
