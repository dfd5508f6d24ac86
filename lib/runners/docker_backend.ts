import { getLogger } from "@logtape/logtape";
import type { RunnerBackend } from "./backend.ts";
import type { DeviceSlots } from "./devices.ts";
import type { ManagedContainer } from "../core/model.ts";
import type { Docker } from "./docker.ts";
import type { NestedEngine, RunnerProfile } from "../core/runner_profiles.ts";
import { describeError } from "../github/errors.ts";
import type { RunnerRegistry } from "./registry.ts";
import { type StartAction, startTarget } from "../core/plan.ts";
import { cacheKeyFor, type CacheKind, type CacheLimits, type CacheShare } from "../core/caches.ts";
import type { CacheVolumes, ClaimedCache } from "./cache_volumes.ts";

const log = getLogger(["autoscaler", "runners"]);

/** How runner containers are made. */
export interface DockerRunnerSettings {
  image: string;
  /** `missing`: pull only when the image is not present (air-gapped hosts work); `always`: pull
   * before every start. */
  pull: "missing" | "always";
  network: "bridge" | "host";
  profile: RunnerProfile;
  /** How a `docker` profile runner gets its own engine. */
  nested: NestedEngine | null;
  cpus: number;
  memoryMiB: number;
  pidsLimit: number;
  /** Our runners' names start with this (`autoscaler-<host>-`). */
  namePrefix: string;
  slots: DeviceSlots;
  /** Whether stderr is a terminal (pull progress is shown there). */
  terminal: boolean;
  /** The runners' caches; null with `--no-cache`. */
  cache: RunnerCaches | null;
}

/** How runners get their caches, and what is told of them. */
export interface RunnerCaches {
  volumes: CacheVolumes;
  share: CacheShare;
  limits: CacheLimits;
  /** A runner started with a cache that was there before (hit) or a new one. */
  onStart?(hit: boolean): void;
  /** The bytes of this host's caches, after each prune. */
  onMeasure?(bytes: number): void;
}

/**
 * Starts each runner as an ephemeral registration (from `registry`) in a container confined as
 * its profile says. The registration is made first and deleted again if the container does not
 * start, so a failed start never leaks one; an image that is missing and cannot be pulled stops
 * before registering.
 */
export class DockerBackend implements RunnerBackend {
  #inUse = new Set<string>();
  /** The cache slots our containers hold, per cache key. */
  #cacheSlots = new Map<string, Set<number>>();
  /** A prune `prepare` began, so that two never overlap. */
  #pruning: Promise<void> | null = null;
  /** A check (and pull) `prepare` began, which a start waits for rather than pulling again. */
  #preparing: Promise<boolean> | null = null;

  constructor(
    private docker: Docker,
    private registry: RunnerRegistry,
    private settings: DockerRunnerSettings,
    private now: () => Date,
  ) {}

  /** Our containers: managed by this program and named with this host's runner prefix. */
  async containers(): Promise<ManagedContainer[]> {
    const containers = (await this.docker.list())
      .filter((c) => (c.labels["runner-name"] ?? "").startsWith(this.settings.namePrefix));
    this.#inUse = new Set(
      containers.filter((c) => c.state === "running" && c.labels.device)
        .map((c) => c.labels.device as string),
    );
    this.#cacheSlots = new Map();
    for (const c of containers) {
      const key = c.labels["cache-key"];
      // A container whose runner has exited writes nothing more: the next job may have its slot.
      if (key && !["exited", "dead"].includes(c.state)) {
        this.#slotsOf(key).add(Number(c.labels["cache-slot"]));
      }
    }
    return containers;
  }

  remove(containerId: string): Promise<void> {
    return this.docker.remove(containerId);
  }

  #slotsOf(key: string): Set<number> {
    const slots = this.#cacheSlots.get(key) ?? new Set<number>();
    this.#cacheSlots.set(key, slots);
    return slots;
  }

  /** Makes sure of the image, and prunes the caches down to their limits; neither waited for. */
  prepare(): void {
    const cache = this.settings.cache;
    if (cache) {
      this.#pruning ??= cache.volumes.prune(cache.limits, this.now()).then(({ bytes }) => {
        cache.onMeasure?.(bytes);
      }, (error) => {
        log.warn("Could not prune the runner caches: {error}", { error: describeError(error) });
      }).finally(() => this.#pruning = null);
    }
    this.#preparing ??= this.#ensureImage().then(() => true, (error) => {
      log.warn("Could not make sure the runner image is here: {error}", {
        error: describeError(error),
      });
      return false;
    }).finally(() => this.#preparing = null);
  }

  async start(action: StartAction, signal: AbortSignal): Promise<string[]> {
    // An image `prepare` has just made sure of is not checked (or, with --pull always, pulled)
    // again.
    if (await this.#preparing !== true) await this.#ensureImage();
    const started: string[] = [];
    for (let i = 0; i < action.count && !signal.aborted; i++) {
      const name = await this.#startOne(action, action.jobIds[i]);
      if (name === null) break;
      started.push(name);
    }
    return started;
  }

  /**
   * Before each start, and in `prepare`: the image can vanish while the daemon runs (`docker
   * image prune -a`), and `docker run` (told `--pull never`) must not pull it itself under its
   * start timeout.
   */
  async #ensureImage(): Promise<void> {
    const { image, pull, terminal } = this.settings;
    if (pull === "always" || !(await this.docker.hasImage(image))) {
      log.info("Pulling image {image}", { image });
      await this.docker.pull(image, terminal);
    }
  }

  async #startOne(action: StartAction, forJob: number | undefined): Promise<string | null> {
    const kind = action.runnerKind;
    const slot = kind === "cpu"
      ? null
      : this.settings.slots[kind]?.find((s) => !this.#inUse.has(s.id));
    if (kind !== "cpu" && !slot) {
      log.warn("No free {kind} device for another runner for {scope}", {
        kind,
        scope: action.scope,
      });
      return null;
    }
    const name = `${this.settings.namePrefix}${crypto.randomUUID().slice(0, 8)}`;
    const scope = action.scope;
    const registration = await this.registry.register(
      action,
      name,
      this.settings.profile === "docker",
    );
    const cache = await this.#claimCache(action, name);
    let containerId: string;
    try {
      containerId = await this.docker.start({
        name,
        image: this.settings.image,
        labels: {
          "runner-name": name,
          "runner-id": registration.id === null ? "" : String(registration.id),
          scope,
          ...(action.scaleSetId !== undefined
            ? { "scale-set": String(action.scaleSetId) }
            : action.repo === null
            ? { pool: "true" }
            : { repo: action.repo }),
          kind,
          labels: action.labels.join(","),
          created: this.now().toISOString(),
          ...(slot ? { device: slot.id } : {}),
          ...(forJob === undefined ? {} : { "for-job": String(forJob) }),
          ...(cache ? { "cache-key": cache.key, "cache-slot": String(cache.slot) } : {}),
        },
        cacheArgs: cache?.args ?? [],
        settings: registration.env,
        profile: this.settings.profile,
        nested: this.settings.nested,
        // Machine-learning jobs (data loader workers, NCCL) outgrow Docker's 64 MiB /dev/shm.
        shmMiB: kind === "cpu" ? null : Math.floor(this.settings.memoryMiB / 2),
        cpus: this.settings.cpus,
        memoryMiB: this.settings.memoryMiB,
        pidsLimit: this.settings.pidsLimit,
        network: this.settings.network,
        deviceArgs: slot?.args ?? [],
        command: registration.command,
      });
    } catch (error) {
      // A start that failed (timed out, say) may have left its container running: its slot stays
      // taken until the next listing says otherwise.
      if (cache) this.#slotsOf(cache.key).add(cache.slot);
      if (registration.id !== null) {
        const id = registration.id;
        const outcome = await this.registry.unregister(scope, id).catch((e) =>
          `not deleted (${describeError(e)})`
        );
        log.error("Runner {name} did not start; its registration was {outcome}", { name, outcome });
      }
      throw error;
    } finally {
      cache?.release();
    }
    if (slot) this.#inUse.add(slot.id);
    if (cache) {
      this.#slotsOf(cache.key).add(cache.slot);
      this.settings.cache?.onStart?.(cache.hit);
    }
    log.info("Started {kind} runner {name} for {what} in container {container}{cache}", {
      kind,
      name,
      what: startTarget(action),
      container: containerId.slice(0, 12),
      cache: cache ? `, cache slot ${cache.slot} (${cache.hit ? "there before" : "new"})` : "",
    });
    return name;
  }

  /**
   * The cache slot runner `name` for `action` mounts, or null when it gets none. A cache that
   * cannot be had (Docker refusing volumes, say) costs the job its cache, never its runner.
   */
  async #claimCache(action: StartAction, name: string): Promise<ClaimedCache | null> {
    const cache = this.settings.cache;
    const key = cache && cacheKeyFor(action.scope, cache.share);
    if (!cache || !key) return null;
    const kinds: CacheKind[] = this.settings.profile === "docker" ? ["tool", "docker"] : ["tool"];
    try {
      return await cache.volumes.claim(
        key,
        kinds,
        this.#slotsOf(key),
        this.settings.image,
        this.now(),
      );
    } catch (error) {
      log.warn("Could not give runner {name} its cache: {error}; starting it without one", {
        name,
        error: describeError(error),
      });
      return null;
    }
  }
}
