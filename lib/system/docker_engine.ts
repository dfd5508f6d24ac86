import { type CommandRunner, toolResult } from "./command.ts";

/** Whether a Docker engine answers the `docker` CLI, and its version. */
export interface DockerReport {
  available: boolean;
  serverVersion: string | null;
  reason: string | null;
}

/** Asks the Docker engine (as `DOCKER_HOST` and the CLI's context say) for its version. */
export async function detectDocker(run: CommandRunner, timeoutMs: number): Promise<DockerReport> {
  const result = toolResult(
    "docker",
    await run("docker", ["version", "--format", "{{.Server.Version}}"], { timeoutMs }),
  );
  if (!result.ok) return { available: false, serverVersion: null, reason: result.reason };
  const version = result.stdout.trim();
  return version === ""
    ? { available: false, serverVersion: null, reason: "docker printed no server version" }
    : { available: true, serverVersion: version, reason: null };
}
