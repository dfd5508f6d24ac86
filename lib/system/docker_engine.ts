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

/** How the engine confines containers, as `docker info` tells. */
export interface EngineSecurityReport {
  usernsRemap: boolean;
  rootless: boolean;
  runtimes: string[];
  cgroupVersion: number | null;
}

/**
 * Reads the engine's security options (`name=userns`, `name=rootless`) and registered runtimes
 * from `docker info`; a sentence saying why when it cannot.
 */
export async function detectEngineSecurity(
  run: CommandRunner,
  timeoutMs: number,
): Promise<EngineSecurityReport | string> {
  const result = toolResult(
    "docker",
    await run("docker", [
      "info",
      "--format",
      "{{json .SecurityOptions}}\t{{json .Runtimes}}\t{{.CgroupVersion}}",
    ], {
      timeoutMs,
    }),
  );
  if (!result.ok) {
    return `Cannot ask the Docker engine how it confines containers: ${result.reason}`;
  }
  return parseEngineSecurity(result.stdout);
}

/**
 * Parses `docker info --format '{{json .SecurityOptions}}\t{{json .Runtimes}}\t{{.CgroupVersion}}'`.
 */
export function parseEngineSecurity(text: string): EngineSecurityReport | string {
  const [options, runtimes, cgroup] = text.trim().split("\t");
  try {
    const names = (JSON.parse(options ?? "null") as unknown[] | null ?? []).map((option) =>
      String(option).split(",")[0]
    );
    const registered = JSON.parse(runtimes ?? "null") as Record<string, unknown> | null ?? {};
    return {
      usernsRemap: names.includes("name=userns"),
      rootless: names.includes("name=rootless"),
      runtimes: Object.keys(registered).sort(),
      cgroupVersion: /^[12]$/.test(cgroup ?? "") ? Number(cgroup) : null,
    };
  } catch {
    return `Cannot read docker info's answer: ${JSON.stringify(text.slice(0, 200))}`;
  }
}
