import { createGitHub } from "../../lib/github/client.ts";
import { ScaleSetClient } from "../../lib/github/scale_set_client.ts";
import { ScaleSetRegistry } from "../../lib/runners/registry.ts";
import type { RunnerBackend } from "../../lib/runners/backend.ts";
import type { ManagedContainer } from "../../lib/core/model.ts";
import type { StartAction } from "../../lib/core/plan.ts";
import type { ScaleSetSpec } from "../../lib/core/scale_set.ts";
import { runScaleSets } from "../../lib/daemon/scale_set_mode.ts";
import { ScaleSetRecord } from "../../lib/daemon/scale_set_record.ts";
import type { GitHubSimulator } from "../../lib/simulator/server.ts";
import { TOKEN } from "./sim.ts";

/** A client of organization acme's scale set service on the simulator, cut off by `signal`. */
export function scaleSetClient(sim: GitHubSimulator, signal?: AbortSignal): ScaleSetClient {
  const fetcher: typeof fetch = (input, init) =>
    fetch(input, {
      ...init,
      signal: AbortSignal.any([signal, init?.signal].filter((s): s is AbortSignal => !!s)),
    });
  return new ScaleSetClient(createGitHub(sim.url, { kind: "token", token: TOKEN }), {
    apiUrl: sim.url,
    configUrl: `${sim.url}/acme`,
    org: "acme",
    fetch: fetcher,
    pollFetch: fetcher,
    now: () => new Date(),
    signal,
  });
}

type Container = ManagedContainer & { runnerId: number; job?: number };

/**
 * Runner containers without Docker: each registers through the scale set, comes online, takes a
 * job GitHub hands its runner in the simulated world, works `jobMs` on it, and exits
 * `lingerMs` after (a runner and `docker` take a moment to end a container).
 */
export class SimulatedContainers implements RunnerBackend {
  jobMs = 100;
  lingerMs = 0;
  /** `prepare` calls: the image check and the cache prune of the Docker backend. */
  prepared = 0;
  readonly all: Container[] = [];
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(private sim: GitHubSimulator, private registry: ScaleSetRegistry) {
    this.#timer = setInterval(() => this.#tick(), 20);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #tick(): void {
    for (const c of this.all.filter((c) => c.state === "running" && c.job === undefined)) {
      const runner = this.sim.world.runners.find((r) => r.id === c.runnerId);
      // A runner whose registration is gone ends.
      if (!runner) c.state = "exited";
      else if (!runner.busy) {
        runner.status = "online";
        const [job] = this.sim.world.dispatch(runner);
        if (!job) continue;
        c.job = job.id;
        setTimeout(() => {
          this.sim.world.completeJob(job);
          setTimeout(() => c.state = "exited", this.lingerMs);
        }, this.jobMs);
      }
    }
  }

  prepare(): void {
    this.prepared++;
  }

  containers(): Promise<ManagedContainer[]> {
    return Promise.resolve(this.all.map((c) => ({ ...c, labels: { ...c.labels } })));
  }

  async start(action: StartAction, signal: AbortSignal): Promise<string[]> {
    const names: string[] = [];
    for (let i = 0; i < action.count && !signal.aborted; i++) {
      const name = `sim-${action.runnerKind}-${crypto.randomUUID().slice(0, 8)}`;
      const { id } = await this.registry.register(action, name, false);
      this.all.push({
        id: crypto.randomUUID(),
        state: "running",
        exitCode: 0,
        runnerId: id!,
        labels: {
          "runner-name": name,
          "runner-id": String(id),
          "scale-set": String(action.scaleSetId),
          kind: action.runnerKind,
        },
        createdAt: new Date().toISOString(),
      });
      names.push(name);
    }
    return names;
  }

  remove(containerId: string): Promise<void> {
    const at = this.all.findIndex((c) => c.id === containerId);
    if (at >= 0) this.all.splice(at, 1);
    return Promise.resolve();
  }
}

/** A CPU scale set of 3 places. */
export const CPU_SPEC: ScaleSetSpec = {
  kind: "cpu",
  name: "sim-host-1a2b3c4d-cpu",
  labels: ["self-hosted", "linux", "x64"],
  capacity: 3,
};

/** The scale set listeners of one host, in this process, with simulated runner containers. */
export interface ScaleSetDaemon {
  containers: SimulatedContainers;
  /** Ends with the daemon (its sessions closed). */
  done: Promise<void>;
  /** Whether the daemon told its updater that it works. */
  healthy: boolean;
  stop(): Promise<void>;
}

/** Starts `runScaleSets` for organization acme, its state in `stateDir`. */
export function scaleSetDaemon(
  sim: GitHubSimulator,
  stateDir: string,
  options: { specs?: ScaleSetSpec[]; idleMs?: number; intervalMs?: number } = {},
): ScaleSetDaemon {
  const stop = new AbortController();
  const client = scaleSetClient(sim, stop.signal);
  const containers = new SimulatedContainers(sim, new ScaleSetRegistry(client));
  const specs = options.specs ?? [CPU_SPEC];
  const daemon: ScaleSetDaemon = {
    containers,
    healthy: false,
    done: runScaleSets({
      client,
      backend: containers,
      record: new ScaleSetRecord(stateDir),
      signal: stop.signal,
      closing: () => scaleSetClient(sim, AbortSignal.timeout(5000)),
      afterPass: (ok) => {
        if (ok) daemon.healthy = true;
        return Promise.resolve(true);
      },
    }, {
      apiUrl: sim.url,
      org: "acme",
      specs,
      runnerGroupId: 1,
      ownerName: "sim-host",
      maxRunners: specs.reduce((sum, s) => sum + s.capacity, 0),
      idleTimeoutMs: options.idleMs ?? 1000,
      intervalMs: options.intervalMs ?? 500,
    }).finally(() => containers.stop()),
    async stop() {
      stop.abort();
      await this.done;
    },
  };
  return daemon;
}
