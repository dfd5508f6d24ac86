import { type ArchInfo, resolveArch } from "./arch.ts";
import { type CommandRunner, DEFAULT_TIMEOUT_MS } from "./command.ts";
import { parseCpuInfo } from "./cpuinfo.ts";
import { detectDocker, type DockerReport } from "./docker_engine.ts";
import { hostFiles } from "./files.ts";
import { amdRenderNodes, detectIntel, type IntelReport } from "./intel.ts";
import { parseMemInfo } from "./meminfo.ts";
import { detectNvidia, type NvidiaReport } from "./nvidia_smi.ts";
import { type AmdReport, detectAmd } from "./rocminfo.ts";

/** Everything the autoscaler knows about the host it runs on. */
export interface HostFacts {
  arch: ArchInfo;
  cpu: { count: number; model: string | null; board: string | null };
  memory: { totalBytes: number | null; availableBytes: number | null };
  nvidia: NvidiaReport;
  /** With the DRM render nodes of the AMD GPUs (from sysfs), one of which a ROCm runner gets. */
  amd: AmdReport & { renderNodes: string[] };
  intel: IntelReport;
  docker: DockerReport;
}

/** The I/O detection needs; tests pass a fixture root and a runner over fake executables. */
export interface DetectDeps {
  /** Where `/proc`, `/sys` and `/dev` are read from: `/` on a real host. */
  root: string;
  run: CommandRunner;
  /** The runtime's own architecture (`Deno.build.arch`). */
  runtimeArch: string;
  /** How long each external tool may take before it counts as hung. */
  timeoutMs?: number;
}

/** Detects the host; a missing, failing or hung tool means "none of that kind", never a throw. */
export async function detectHost(deps: DetectDeps): Promise<HostFacts> {
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const files = hostFiles(deps.root, deps.run);
  const [cpuinfo, meminfo, nvidia, amd, intel, docker, amdNodes] = await Promise.all([
    files.readText("proc/cpuinfo"),
    files.readText("proc/meminfo"),
    detectNvidia(deps.run, timeoutMs),
    detectAmd(deps.run, timeoutMs),
    detectIntel(files),
    detectDocker(deps.run, timeoutMs),
    amdRenderNodes(files),
  ]);
  const cpu = parseCpuInfo(cpuinfo ?? "");
  return {
    arch: resolveArch(cpu.machine, deps.runtimeArch),
    cpu: { count: cpu.count, model: cpu.model, board: cpu.board },
    memory: parseMemInfo(meminfo ?? ""),
    nvidia,
    amd: { ...amd, renderNodes: amd.gpus.length > 0 ? amdNodes : [] },
    intel,
    docker,
  };
}

/** Why runners cannot be provisioned on this host; empty when they can. */
export function provisioningProblems(host: HostFacts): string[] {
  const problems: string[] = [];
  if (host.arch.name === null) {
    problems.push(
      `architecture ${host.arch.machine} is not supported: GitHub's runner and this program ` +
        "ship for x64 (x86_64) and arm64 (aarch64) only",
    );
  }
  if (!host.docker.available) {
    problems.push(`no Docker engine answers (${host.docker.reason ?? "unknown reason"})`);
  }
  return problems;
}
