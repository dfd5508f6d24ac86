import { UsageError } from "../core/errors.ts";
import { type Observation, observe } from "../daemon/cycle.ts";
import type { HostProfile } from "../core/plan.ts";
import type { Command } from "./command.ts";
import { parseRunOptions, RUN_OPTIONS, RUN_OPTIONS_HELP } from "./run_options.ts";
import { prepare } from "./setup.ts";

/** `autoscaler plan`: one observation, no action; the decision for every queued job. */
export const planCommand: Command = {
  name: "plan",
  summary: "Show what this host would do about each queued job, and why; starts nothing",
  help: `Usage: autoscaler plan [--json] [run options]

Lists the repositories to watch, their queued jobs, and our runners there, then prints the
decision for each job: provision (a runner would be started for it), wait (this host can run
it, but capacity is full or a runner of ours already covers it) or skip (this host must not run
it), each with its reason, and the start actions. Nothing is started, removed or changed. Our
runners' states come from Docker and GitHub (from GitHub alone with --dry-run or without a Docker
engine). Takes the same options as "autoscaler run" (--interval and --once have no effect here).

Options:
  --json                    Print one JSON object: {"host", "jobs", "actions", ...}

${RUN_OPTIONS_HELP}`,
  options: { ...RUN_OPTIONS, json: { type: "boolean" } },
  async run(values, deps) {
    const options = parseRunOptions(values, deps.env);
    if (options.mode === "scaleset") {
      throw new UsageError(
        "plan shows what polling would start; with --mode scaleset GitHub assigns the jobs, " +
          "so there is nothing to plan",
      );
    }
    const { github, settings, backend } = await prepare(options, deps, "observe");
    const observation = await observe(
      { github, backend, now: () => new Date(), signal: deps.signal },
      settings,
    );
    deps.print(
      values.json === true
        ? `${JSON.stringify(planJson(settings.host, settings.maxRunners, observation), null, 2)}\n`
        : renderPlan(settings.host, settings.maxRunners, observation),
    );
    return 0;
  },
};

/** The `plan --json` object; its field names are a contract scripts rely on. */
export function planJson(host: HostProfile, maxRunners: number, observation: Observation) {
  return {
    host: { arch: host.arch, labels: host.labels, max_runners: maxRunners },
    repos: observation.repos,
    jobs: observation.plan.decisions.map((d) => ({
      repo: d.job.repo,
      run_id: d.job.runId,
      job_id: d.job.jobId,
      workflow: d.job.workflow,
      workflow_path: d.job.workflowPath,
      job_name: d.job.jobName,
      labels: d.job.labels,
      created_at: d.job.createdAt,
      decision: d.decision,
      reason: d.reason,
      runner_kind: d.runnerKind,
    })),
    actions: observation.plan.actions.map((a) => ({
      kind: a.kind,
      count: a.count,
      scope: a.scope,
      repo: a.repo,
      labels: a.labels,
      runner_kind: a.runnerKind,
      job_ids: a.jobIds,
    })),
    reclaims: observation.plan.reclaims,
    runners: observation.runners,
    problems: observation.problems,
  };
}

function renderPlan(host: HostProfile, maxRunners: number, observation: Observation): string {
  const { decisions, actions } = observation.plan;
  const lines = [
    `Host: ${host.arch}, labels ${host.labels.join(", ")}; at most ${maxRunners} runners`,
    `Watching ${observation.repos.length} repositories; ${decisions.length} queued jobs; ` +
    `${observation.runners.length} runners of ours`,
    "",
  ];
  for (const d of decisions) {
    lines.push(
      `${d.decision.padEnd(9)} ${d.job.repo} ${d.job.workflow} / ${d.job.jobName} ` +
        `[${d.job.labels.join(", ")}]`,
      `          ${d.reason}`,
    );
  }
  if (decisions.length > 0) lines.push("");
  lines.push(
    actions.length + observation.plan.reclaims.length === 0 ? "Actions: none" : "Actions:",
    ...actions.map((a) =>
      `  start ${a.count} ${a.runnerKind} runner${a.count > 1 ? "s" : ""} for ` +
      `${a.repo ?? `the warm pool of ${a.scope}`} [${a.labels.join(", ")}]`
    ),
    ...observation.plan.reclaims.map((r) =>
      `  retire runner ${r.runner} of ${r.scope}: ${r.reason}`
    ),
  );
  for (const problem of observation.problems) lines.push(`Problem: ${problem}`);
  return `${lines.join("\n")}\n`;
}
