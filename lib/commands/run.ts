import { getLogger } from "@logtape/logtape";
import { DryRunBackend } from "../backend.ts";
import { UsageError } from "../errors.ts";
import { runLoop } from "../loop.ts";
import type { Command } from "./command.ts";
import { parseRunOptions, RUN_OPTIONS, RUN_OPTIONS_HELP } from "./run_options.ts";
import { prepare } from "./setup.ts";

const log = getLogger(["autoscaler"]);

/** `autoscaler run`: the daemon loop. */
export const runCommand: Command = {
  name: "run",
  summary: "The daemon: find queued jobs and start runners for them (--dry-run only, for now)",
  help: `Usage: autoscaler run --dry-run [--once] [--interval SECONDS] [run options]

Every --interval seconds (default: 60): lists the repositories, their queued jobs and our
runners, plans, and starts runners for the jobs this host should take. Starting real runners in
Docker is not built yet, so --dry-run is required: it logs what would be started. SIGINT or
SIGTERM ends the loop between cycles.

Options:
  --dry-run                 Start nothing; log what would be started
  --once                    Run one cycle and exit
  --interval SECONDS        Time between cycles (default: 60; at least 5)

${RUN_OPTIONS_HELP}`,
  options: RUN_OPTIONS,
  async run(values, deps) {
    const options = parseRunOptions(values, deps.env);
    if (!options.dryRun) {
      throw new UsageError(
        "Starting runners in Docker is not built yet; add --dry-run to see what run would start",
      );
    }
    const { github, settings } = await prepare(options, deps);
    log.info(
      "Auto-scaler configured: {arch} host, labels {labels}, at most {maxRunners} runners, " +
        "every {interval} s, dry run",
      {
        arch: settings.host.arch,
        labels: settings.host.labels.join(","),
        maxRunners: settings.maxRunners,
        interval: options.intervalSeconds,
      },
    );
    const failure = await runLoop(
      { github, backend: new DryRunBackend(), now: () => new Date() },
      settings,
      { intervalMs: options.intervalSeconds * 1000, once: options.once, signal: deps.signal },
    );
    if (options.once && failure !== null) throw failure;
    log.info("Stopped");
    return 0;
  },
};
