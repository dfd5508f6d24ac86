import { getLogger } from "@logtape/logtape";
import { DryRunBackend, type RunnerBackend } from "../runners/backend.ts";
import type { CycleSettings } from "../daemon/cycle.ts";
import { devicePaths, deviceSlots } from "../runners/devices.ts";
import { Docker } from "../runners/docker.ts";
import { DockerBackend, type RunnerCaches } from "../runners/docker_backend.ts";
import { CacheVolumes } from "../runners/cache_volumes.ts";
import { ConfigurationError, UsageError } from "../core/errors.ts";
import type { RunnerKind } from "../core/model.ts";
import {
  type ClientExtras,
  createGitHub,
  deadlineFetch,
  type GitHub,
  type GitHubAuth,
} from "../github/client.ts";
import { ScaleSetClient } from "../github/scale_set_client.ts";
import { RestRegistry, ScaleSetRegistry } from "../runners/registry.ts";
import { serverUrl } from "../github/api_url.ts";
import { EtagCache } from "../github/etag_cache.ts";
import { findToken } from "../github/token.ts";
import { hostProfile } from "../core/labels.ts";
import {
  type NestedEngine,
  nestedEngine,
  profileLabels,
  profileRefusal,
} from "../core/runner_profiles.ts";
import { detectEngineSecurity } from "../system/docker_engine.ts";
import type { CommandRunner } from "../system/command.ts";
import { detectHost, type HostFacts } from "../system/host.ts";
import { hostId, stateDirectory } from "../system/host_id.ts";
import type { Deps } from "./command.ts";
import type { RunOptions } from "./run_options.ts";

const log = getLogger(["autoscaler"]);

/** Processes a runner container may hold. */
const PIDS_LIMIT = 4096;

/** What `run`, `plan` and `status` work with once the options are checked. */
export interface Prepared {
  host: HostFacts;
  github: GitHub;
  /** A client of its own, for the last requests after the stop signal: `signal` bounds them. */
  githubUntil(signal: AbortSignal): GitHub;
  settings: CycleSettings;
  backend: RunnerBackend;
  /** Per-runner resources, for the log. */
  cpus: number;
  memoryMiB: number;
  /** The organization's scale set service, with `--mode scaleset`. */
  scaleSets: ScaleSetClient | null;
  /** This host's state directory. */
  stateDir: string;
}

/**
 * How long a long poll of the scale set service may take to answer: GitHub holds it about 50 s
 * when there is nothing to say.
 */
const LONG_POLL_DEADLINE_MS = 90_000;

/**
 * The prefix of our runners' names on this host: `<prefix>-<host>-<host id>-`. The host name is
 * for people; the host id (kept in the state directory) makes the prefix this host's alone, so
 * that no other host's runner name starts with it.
 */
export function runnerPrefix(hostname: string, id: string, prefix = "autoscaler"): string {
  const host = hostname.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "") ||
    "host";
  return `${prefix}-${host.slice(0, 20).replace(/-+$/, "")}-${id}-`;
}

/**
 * Refuses a profile this engine cannot give safely (a usage error with the fix); returns how
 * the `docker` profile nests engines. Asked only of an engine that will start runners.
 */
async function checkProfile(
  options: RunOptions,
  deps: Deps,
  engine: boolean,
): Promise<NestedEngine | null> {
  if (!engine) return null;
  const security = await detectEngineSecurity(deps.run, options.dockerTimeoutMs);
  if (typeof security === "string") {
    // The default profile asks the engine only whether --network host can work; docker run
    // tells that too, so an engine that does not say goes on.
    if (options.profile === "hardened") {
      log.debug("{reason}", { reason: security });
      return null;
    }
    throw new Error(security);
  }
  const refusal = profileRefusal(options.profile, security, options.network);
  if (refusal !== null) throw new ConfigurationError(refusal);
  return options.profile === "docker" ? nestedEngine(security) : null;
}

/**
 * Detects the host, signs in to GitHub, fixes the cycle settings and picks the backend: Docker,
 * or with `--dry-run` (or, for `plan`, without a Docker engine) one that starts nothing.
 */
export async function prepare(
  options: RunOptions,
  deps: Deps,
  use: "run" | "observe",
  { cacheEvents, ...extras }: Omit<ClientExtras, "cache"> & {
    /** What the daemon's metrics hear of the caches. */
    cacheEvents?: Pick<RunnerCaches, "onStart" | "onMeasure">;
  } = {},
): Promise<Prepared> {
  const host = await detectHost({
    root: options.root,
    run: deps.run,
    runtimeArch: deps.runtimeArch,
  });
  const profile = hostProfile(host, [...profileLabels(options.profile), ...options.labels]);
  if (profile === null) {
    throw new Error(
      `This host's architecture ${host.arch.machine} is not supported: runners need x64 or arm64`,
    );
  }
  if (use === "run" && !options.dryRun && !host.docker.available) {
    throw new Error(`No Docker engine answers (${host.docker.reason}); runners need one`);
  }
  const nested = await checkProfile(options, deps, host.docker.available && use === "run");
  const auth: GitHubAuth = options.app
    ? {
      kind: "app",
      appId: options.app.appId,
      installationId: options.app.installationId,
      privateKey: await Deno.readTextFile(options.app.privateKeyFile).catch((error) => {
        throw new UsageError(
          `Cannot read --app-private-key-file "${options.app?.privateKeyFile}": ${error.message}`,
        );
      }),
    }
    : { kind: "token", token: (await findToken(deps.env, deps.run)).token };
  const cache = options.conditionalRequests ? new EtagCache() : undefined;
  const github = createGitHub(options.apiUrl, auth, {
    ...extras,
    cache,
    concurrency: options.apiConcurrency,
    timeoutMs: options.apiTimeoutMs,
    signal: deps.signal,
  });
  checkResources(options, host);
  const maxRunners = options.maxRunners ?? Math.max(1, host.cpu.count);
  const slots = Math.max(1, maxRunners);
  const cpus = options.runnerCpus ??
    Math.max(0.5, Math.floor((Math.max(1, host.cpu.count) / slots) * 100) / 100);
  const memoryMiB = options.runnerMemoryMiB ??
    Math.max(512, Math.floor((host.memory.totalBytes ?? 4 * 1024 ** 3) * 0.9 / slots / 1024 ** 2));
  const stateDir = stateDirectory(deps.env, deps.uid, options.stateDir);
  const id = await hostId(stateDir);
  const prefix = runnerPrefix(deps.hostname, id, options.namePrefix);
  if (options.cache?.share === "repo" && options.runnerScope === "org") {
    log.warn(
      "Runners registered to an organization take any of its repositories' jobs, so they get " +
        "no cache unless --cache-share org lets the organization's repositories share one",
    );
  }
  for (const [kind, count] of Object.entries(options.minIdle ?? {})) {
    if (count > 0 && profile.kinds[kind as RunnerKind] === undefined) {
      log.warn(
        "--min-idle asks for {kind} runners, but this host has none to give; none are kept",
        {
          kind,
        },
      );
    }
  }
  const dockerBackend = !options.dryRun && host.docker.available;
  if (use === "observe" && !dockerBackend) {
    log.info("No Docker engine: runner states come from GitHub alone");
  }
  const scaleSets = options.mode === "scaleset"
    ? new ScaleSetClient(github, {
      apiUrl: options.apiUrl,
      org: options.selection.owners[0]!,
      configUrl: `${serverUrl(options.apiUrl)}/${options.selection.owners[0]}`,
      fetch: deadlineFetch(options.apiTimeoutMs, deps.signal),
      pollFetch: deadlineFetch(Math.max(options.apiTimeoutMs, LONG_POLL_DEADLINE_MS), deps.signal),
      now: () => new Date(),
      signal: deps.signal,
    })
    : null;
  const registry = scaleSets ? new ScaleSetRegistry(scaleSets) : new RestRegistry(github, {
    runnerGroupId: options.runnerGroupId,
    serverUrl: serverUrl(options.apiUrl),
  });
  const backend: RunnerBackend = dockerBackend
    ? new DockerBackend(new Docker(deps.run, options.dockerTimeoutMs), registry, {
      image: options.image,
      pull: options.pull,
      network: options.network,
      profile: options.profile,
      nested,
      cpus,
      memoryMiB,
      pidsLimit: PIDS_LIMIT,
      namePrefix: prefix,
      slots: deviceSlots(host, await deviceGroups(deps.run, devicePaths(host))),
      terminal: Deno.stderr.isTerminal(),
      cache: options.cache && {
        volumes: new CacheVolumes(deps.run, prefix, id, stateDir, options.dockerTimeoutMs),
        share: options.cache.share,
        limits: {
          maxKeyBytes: options.cache.maxRepoBytes,
          maxTotalBytes: options.cache.maxTotalBytes,
          maxAgeMs: options.cache.maxAgeDays * 86_400_000,
        },
        ...cacheEvents,
      },
    }, () => new Date())
    : new DryRunBackend();
  return {
    host,
    github,
    githubUntil: (signal) =>
      createGitHub(options.apiUrl, auth, { signal, timeoutMs: options.apiTimeoutMs }),
    backend,
    cpus,
    memoryMiB,
    scaleSets,
    stateDir,
    settings: {
      selection: { ...options.selection, app: options.app !== null },
      host: profile,
      maxRunners,
      archFilter: options.archFilter,
      runnerPrefix: prefix,
      concurrency: options.apiConcurrency,
      idleTimeoutMs: options.idleTimeoutSeconds * 1000,
      runnerScope: options.runnerScope,
      ...(options.minIdle === null
        ? {}
        : { pool: { minIdle: options.minIdle, maxAgeMs: options.poolMaxAgeSeconds * 1000 } }),
    },
  };
}

/** A runner cannot have more CPUs or memory than the host: every start would fail. */
function checkResources(options: RunOptions, host: HostFacts): void {
  const cpus = host.cpu.count;
  if (options.runnerCpus !== null && cpus > 0 && options.runnerCpus > cpus) {
    throw new UsageError(
      `Invalid --runner-cpus: ${options.runnerCpus} CPUs are more than this host's ${cpus}`,
    );
  }
  const totalMiB = host.memory.totalBytes === null
    ? null
    : Math.floor(host.memory.totalBytes / 1024 ** 2);
  if (options.runnerMemoryMiB !== null && totalMiB !== null && options.runnerMemoryMiB > totalMiB) {
    throw new UsageError(
      `Invalid --runner-memory: ${options.runnerMemoryMiB} MiB is more than this host's ${totalMiB} MiB`,
    );
  }
}

/** The group owning each device file on the host (`stat`, since Deno keeps /dev to -A). */
async function deviceGroups(run: CommandRunner, paths: string[]): Promise<Record<string, number>> {
  if (paths.length === 0) return {};
  const outcome = await run("stat", ["-c", "%n %g", ...paths], { timeoutMs: 5000 });
  if (outcome.kind !== "exited") return {};
  return Object.fromEntries(
    outcome.stdout.split("\n").map((line) => line.split(" "))
      .filter((parts) => parts.length === 2 && /^\d+$/.test(parts[1]!))
      .map(([path, gid]) => [path, Number(gid)]),
  );
}
