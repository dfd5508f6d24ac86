import { GitHubSimulator, type SimulatorOptions } from "../../lib/simulator/server.ts";

/** The token the test simulators accept. */
export const TOKEN = "ghp_" + "T".repeat(36);

/**
 * Starts a simulator accepting `TOKEN`, runs `fn`, and always stops it. Its clock is the real
 * one, which the daemons and commands it serves read too: build scenarios relative to
 * `sim.world.now()`, never on a calendar date.
 */
export async function withSimulator<T>(
  fn: (sim: GitHubSimulator) => Promise<T>,
  options: SimulatorOptions = {},
): Promise<T> {
  const sim = new GitHubSimulator({ tokens: [TOKEN], ...options });
  await sim.start();
  try {
    return await fn(sim);
  } finally {
    await sim.stop();
  }
}
