import type { ManagedContainer } from "../core/model.ts";
import { Docker } from "../runners/docker.ts";
import { listRegistrations } from "../github/runners.ts";
import type { Registration } from "../core/model.ts";
import type { Command } from "./command.ts";
import { parseRunOptions, RUN_OPTIONS, RUN_OPTIONS_HELP } from "./run_options.ts";
import { prepare } from "./setup.ts";

/** One managed runner as `status` shows it. */
interface RunnerStatus {
  name: string;
  /** The repository of the job it was started for; empty for a warm-pool runner. */
  repo: string;
  /** Kept ready for any job of its scope (`--min-idle`), not started for one. */
  pool: boolean;
  /** Where it is registered: the repository, or its organization. */
  scope: string;
  state: string;
  for_job: number | null;
  age_seconds: number | null;
  container: { id: string; state: string } | null;
}

/** `autoscaler status`: the runners this host manages, from Docker and GitHub. */
export const statusCommand: Command = {
  name: "status",
  summary: "List this host's runners: name, repository, state, job, age and container",
  help: `Usage: autoscaler status [--json] [run options]

Lists the runners this host manages: every container with our labels, joined with our runner
registrations on GitHub (names starting with <name-prefix>-<host>-<host id>-). State is starting,
idle or busy as GitHub sees the runner (a warm-pool runner shows "pool of <scope>" for its
repository); "exited" for a container the next cycle removes;
"not registered" for a container GitHub no longer lists; "no container" for a registration
the next cycle deletes. Takes the run options that name the runners (--name-prefix) and reach
GitHub (--api-url, --app-*).

Options:
  --json                    Print one JSON object: {"runners": [...]}

${RUN_OPTIONS_HELP}`,
  options: { ...RUN_OPTIONS, json: { type: "boolean" } },
  async run(values, deps) {
    const options = parseRunOptions(values, deps.env);
    const { github, settings } = await prepare(options, deps, "observe");
    const containers = (await new Docker(deps.run, options.dockerTimeoutMs).list())
      .filter((c) => (c.labels["runner-name"] ?? "").startsWith(settings.runnerPrefix));
    const scopes = [...new Set(containers.map((c) => c.labels.scope ?? ""))].filter(Boolean);
    const { registrations } = await listRegistrations(
      github,
      scopes,
      settings.runnerPrefix,
      settings.concurrency,
    );
    const runners = statusOf(containers, registrations, new Date());
    deps.print(
      values.json === true ? `${JSON.stringify({ runners }, null, 2)}\n` : render(runners),
    );
    return 0;
  },
};

function statusOf(
  containers: ManagedContainer[],
  registrations: Registration[],
  now: Date,
): RunnerStatus[] {
  const rows: RunnerStatus[] = containers.map((c) => {
    const name = c.labels["runner-name"] ?? "";
    const registration = registrations.find((r) => r.name === name && r.scope === c.labels.scope);
    const state = c.state !== "running"
      ? c.state
      : !registration
      ? "not registered"
      : registration.busy
      ? "busy"
      : registration.online
      ? "idle"
      : "starting";
    const forJob = Number(c.labels["for-job"]);
    return {
      name,
      repo: c.labels.repo ?? "",
      pool: c.labels.pool === "true",
      scope: c.labels.scope ?? "",
      state,
      for_job: Number.isSafeInteger(forJob) ? forJob : null,
      age_seconds: Math.max(0, Math.round((now.getTime() - Date.parse(c.createdAt)) / 1000)),
      container: { id: c.id.slice(0, 12), state: c.state },
    };
  });
  for (const r of registrations) {
    if (rows.some((row) => row.name === r.name)) continue;
    rows.push({
      name: r.name,
      repo: r.scope.includes("/") ? r.scope : "",
      pool: false,
      scope: r.scope,
      state: "no container",
      for_job: null,
      age_seconds: null,
      container: null,
    });
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}

function render(runners: RunnerStatus[]): string {
  if (runners.length === 0) return "No runners of this host.\n";
  const rows = [
    ["NAME", "REPO", "STATE", "JOB", "AGE", "CONTAINER"],
    ...runners.map((r) => [
      r.name,
      r.pool ? `pool of ${r.scope}` : r.repo,
      r.state,
      r.for_job === null ? "-" : String(r.for_job),
      r.age_seconds === null ? "-" : `${r.age_seconds}s`,
      r.container?.id ?? "-",
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd())
    .join("\n") + "\n";
}
