import { getLogger } from "@logtape/logtape";
import { UsageError } from "../core/errors.ts";
import { JobBackoff } from "../core/backoff.ts";
import { abortableSleep, RateBudget } from "../github/budget.ts";
import { runLoop } from "../daemon/loop.ts";
import { retireWarmPool } from "../daemon/cycle.ts";
import { describeError } from "../github/errors.ts";
import { Metrics } from "../daemon/metrics.ts";
import { serveMetrics } from "../daemon/metrics_server.ts";
import { Waker } from "../daemon/waker.ts";
import { serveWebhooks } from "../daemon/webhook.ts";
import type { RunOptions } from "./run_options.ts";
import { isCompiled } from "../program/self.ts";
import { normalizeArch } from "../system/arch.ts";
import { stateDirectory } from "../system/host_id.ts";
import { takeRunLock } from "../system/run_lock.ts";
import { AutoUpdater } from "../update/auto.ts";
import { RELEASE_PUBLIC_KEY } from "../update/release_key.ts";
import { countStart, markHealthy } from "../update/swap.ts";
import { VERSION } from "../program/version.ts";
import { releaseClient } from "./self_update.ts";
import { type Command, type Deps, STOP_GRACE_MS } from "./command.ts";
import { runScaleSets } from "../daemon/scale_set_mode.ts";
import { ScaleSetRecord } from "../daemon/scale_set_record.ts";
import { scaleSetSpecs } from "../core/scale_set.ts";
import { deadlineFetch } from "../github/client.ts";
import { parseRunOptions, RUN_OPTIONS, RUN_OPTIONS_HELP } from "./run_options.ts";
import { prepare, type Prepared } from "./setup.ts";

const log = getLogger(["autoscaler"]);

/** `autoscaler run`: the daemon loop. */
export const runCommand: Command = {
  name: "run",
  summary: "The daemon: start an ephemeral runner in Docker for each queued job this host can run",
  help: `Usage: autoscaler run [--dry-run] [--once] [--interval SECONDS] [run options]

Every --interval seconds (default: 60): lists the repositories, their queued jobs, our runner
containers and registrations; removes what is finished, idle too long or left over; and starts
one ephemeral just-in-time runner in a hardened Docker container for each job this host should
take. All state lives in Docker labels and GitHub, so after a restart (or a crash) the daemon
adopts its containers. SIGINT or SIGTERM: no new runners are started, requests in flight are
abandoned, the current step ends, busy runners keep running their jobs, idle warm-pool runners
(--min-idle) are retired, and the program exits 0; a step still busy 8 s later is cut short
(exit 1), and a second signal ends it at once.

With --mode scaleset --owner ORG, jobs are not listed: this host registers runner scale sets of
its own in ORG (one per kind of runner, named for the host's identity, with its labels), and
GitHub assigns each job to one scale set of one host, pushed over a long poll (no REST requests
while idle). One runner is started per job assigned, at most each scale set's share of
--max-runners; runners that exited are removed after each message and every --interval. Expired
tokens, a scale set or session GitHub removed, and dropped polls are recovered from; another
daemon with this host's identity ends this one (exit 3). SIGINT or SIGTERM closes the sessions
(GitHub gives their unstarted jobs to other hosts) and keeps the scale sets, which
uninstall-service deletes. --dry-run and --once do not go with it. See the README, "Fleets of
hosts".

Options:
  --dry-run                 Start and remove nothing; log what would be started
  --once                    Run one cycle and exit (exit 1 if it failed)
  --interval SECONDS        Time between cycles (default: 60; from 0.01 to 86400); with
                            --mode scaleset, between clean-ups

${RUN_OPTIONS_HELP}`,
  options: RUN_OPTIONS,
  async run(values, deps) {
    const options = parseRunOptions(values, deps.env);
    const metrics = options.metrics ? new Metrics() : undefined;
    const budget = new RateBudget(abortableSleep(deps.signal));
    // One daemon per host: a second would start runners for the same jobs. A dry run starts
    // nothing and may look on beside the service.
    using _lock = options.dryRun ? null : await takeRunLock(
      stateDirectory(deps.env, deps.uid, options.stateDir),
    );
    const prepared = await prepare(options, deps, "run", {
      metrics,
      budget,
      cacheEvents: metrics && {
        onStart: (hit) => metrics.cacheStarts.inc({ result: hit ? "hit" : "miss" }),
        onMeasure: (bytes) => metrics.cacheBytes.set(bytes),
      },
    });
    const { github, settings, backend } = prepared;
    log.info(
      "Auto-scaler configured: {arch} host, labels {labels}, at most {maxRunners} runners " +
        "({cpus} CPUs, {memory} MiB each), every {interval} s{mode}",
      {
        arch: settings.host.arch,
        labels: settings.host.labels.join(","),
        maxRunners: settings.maxRunners,
        cpus: prepared.cpus,
        memory: prepared.memoryMiB,
        interval: options.intervalSeconds,
        mode: options.dryRun ? ", dry run" : `, image ${options.image}`,
      },
    );
    const target = Deno.execPath();
    const arch = normalizeArch(deps.runtimeArch);
    const updating = isCompiled() && options.updateIntervalHours !== null && !options.dryRun &&
      !options.once && arch !== null;
    if (updating && await countStart(target, VERSION)) {
      log.error(
        "Version {version} failed to come up three times in a row; the previous version is back " +
          "in place, exiting so systemd starts it",
        { version: VERSION },
      );
      return 1;
    }
    const updater = updating
      ? new AutoUpdater(
        {
          github: await releaseClient(deps, options.apiUrl),
          run: deps.run,
          target,
          publicKey: RELEASE_PUBLIC_KEY,
          arch: arch!,
          currentVersion: VERSION,
        },
        options.updateRepo,
        options.updateIntervalHours! * 3_600_000,
        new Date(),
      )
      : null;
    let healthy = false;
    /** After each pass: the first one that worked marks this version healthy; then updates. */
    const afterPass = async (ok: boolean) => {
      if (ok && !healthy && updating) {
        healthy = true;
        await markHealthy(target);
      }
      const updated = await updater?.tick(new Date());
      if (updater && updated !== undefined) {
        metrics?.updateChecks.inc({ outcome: updated ? "updated" : "checked" });
      }
      return !updated;
    };
    let stoppedAt = 0;
    deps.signal.addEventListener("abort", () => stoppedAt = performance.now());
    const waker = new Waker();
    const servers = await startServers(options, waker, metrics);
    if (prepared.scaleSets) {
      try {
        await listenAsScaleSets(prepared, options, deps, metrics, afterPass, () => stoppedAt);
      } finally {
        for (const server of servers) await server.shutdown();
      }
      log.info("Stopped");
      return 0;
    }
    const failure = await runLoop(
      {
        github,
        backend,
        now: () => new Date(),
        signal: deps.signal,
        metrics,
        backoff: new JobBackoff(settings.idleTimeoutMs),
        waiting: new Map(),
      },
      settings,
      {
        intervalMs: options.intervalSeconds * 1000,
        once: options.once,
        signal: deps.signal,
        waker,
        metrics,
        budget,
        afterCycle: (result) => afterPass(result !== null),
      },
    );
    // The listeners first: a webhook in flight may hold one up, and the pool's time is short.
    for (const server of servers) await server.shutdown();
    if (settings.pool && !options.dryRun && deps.signal.aborted) {
      await retirePool(prepared, stoppedAt);
    }
    if (options.once && failure !== null) throw failure;
    log.info("Stopped");
    return 0;
  },
};

/**
 * `--mode scaleset`: this host's scale sets (one per kind of runner, sharing `--max-runners`)
 * in the `--owner` organization, each with its listener.
 */
async function listenAsScaleSets(
  prepared: Prepared,
  options: RunOptions,
  deps: Deps,
  metrics: Metrics | undefined,
  afterPass: (ok: boolean) => Promise<boolean>,
  stoppedAt: () => number,
): Promise<void> {
  const { settings } = prepared;
  const org = options.selection.owners[0]!;
  await runScaleSets({
    client: prepared.scaleSets!,
    backend: prepared.backend,
    record: new ScaleSetRecord(prepared.stateDir),
    signal: deps.signal,
    closing: () => {
      // What is left of the grace after the stop signal, less a second (all of it when the
      // daemon stops by itself: a listener that cannot go on, or an update).
      const since = stoppedAt() === 0 ? 0 : performance.now() - stoppedAt();
      const signal = AbortSignal.timeout(Math.max(0, STOP_GRACE_MS - 1000 - since));
      return prepared.scaleSets!.through(
        prepared.githubUntil(signal),
        deadlineFetch(options.apiTimeoutMs, signal),
      );
    },
    metrics,
    afterPass,
  }, {
    apiUrl: options.apiUrl,
    org,
    specs: scaleSetSpecs(settings.host, settings.maxRunners, settings.runnerPrefix),
    runnerGroupId: options.runnerGroupId,
    ownerName: deps.hostname,
    maxRunners: settings.maxRunners,
    idleTimeoutMs: settings.idleTimeoutMs,
    intervalMs: options.intervalSeconds * 1000,
  });
}

/**
 * On stop, retires the warm pool's idle runners (nothing else would), within what is left of the
 * grace after the stop signal (`STOP_GRACE_MS`, less a second), and says what was left.
 */
async function retirePool(prepared: Prepared, stoppedAt: number): Promise<void> {
  const ms = STOP_GRACE_MS - 1000 - (performance.now() - stoppedAt);
  const signal = AbortSignal.timeout(Math.max(0, ms));
  const outcome = await retireWarmPool(
    { github: prepared.githubUntil(signal), backend: prepared.backend },
    prepared.settings,
    signal,
  ).catch((error) => {
    log.warn("Could not retire the warm pool's idle runners: {error}", {
      error: describeError(error),
    });
    return null;
  });
  if (outcome === null) return;
  log.info("Retired {count} idle warm-pool runners", { count: outcome.retired.length });
  if (outcome.left.length > 0) {
    log.warn(
      "{count} warm-pool runners could not be retired in time, left registered and running: " +
        "{runners}; " +
        "a job takes each, or a later start adopts them (and retires them at --pool-max-age, " +
        "or without --min-idle at --idle-timeout)",
      { count: outcome.left.length, runners: outcome.left.join(", ") },
    );
  }
}

/** The webhook receiver and the metrics server, as the options ask. */
async function startServers(options: RunOptions, waker: Waker, metrics: Metrics | undefined) {
  const servers: { shutdown(): Promise<void> }[] = [];
  if (options.webhook) {
    const secret = (await Deno.readTextFile(options.webhook.secretFile).catch((error) => {
      throw new UsageError(
        `Cannot read --webhook-secret-file "${options.webhook?.secretFile}": ${error.message}`,
      );
    })).trim();
    if (secret === "") throw new UsageError("The webhook secret file is empty");
    const server = await serveWebhooks({
      hostname: options.webhook.hostname,
      port: options.webhook.port,
      secret,
      onJob: () => waker.wake(),
      wakeOnStart: options.minIdle !== null,
      onResult: (result) => metrics?.webhooks.inc({ result }),
    });
    log.info("Receiving webhooks on {hostname}:{port}", {
      hostname: options.webhook.hostname,
      port: server.port,
    });
    servers.push(server);
  }
  if (options.metrics && metrics) {
    const server = await serveMetrics({
      ...options.metrics,
      metrics,
      healthyWithinMs: 3 * options.intervalSeconds * 1000 + 60_000,
    });
    log.info("Serving metrics on {hostname}:{port}", {
      hostname: options.metrics.hostname,
      port: server.port,
    });
    servers.push(server);
  }
  if (options.network === "host" && !options.dryRun) {
    const listeners = [options.webhook, options.metrics].flatMap((l) =>
      l ? [`${l.hostname}:${l.port}`] : []
    );
    if (listeners.length > 0) {
      log.warn(
        "With --network host, jobs reach this host's network services, this daemon's " +
          "listeners ({listeners}) among them; --network bridge keeps loopback ones out of reach",
        { listeners: listeners.join(", ") },
      );
    }
  }
  return servers;
}
