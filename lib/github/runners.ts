import { getLogger } from "@logtape/logtape";
import type { ManagedRunner } from "../model.ts";
import { mapLimit } from "../pool.ts";
import type { GitHub } from "./client.ts";
import { authErrorFor } from "./errors.ts";
import { listAll } from "./list.ts";

const log = getLogger(["autoscaler", "github"]);

/** Our runners, and the repositories whose runner list could not be read. */
export interface ObservedRunners {
  runners: ManagedRunner[];
  unreadable: string[];
}

interface RunnerData {
  name: string;
  status: string;
  busy: boolean;
  labels: { name: string }[];
}

function isRunner(value: unknown): value is RunnerData {
  const runner = value as Partial<RunnerData> | null;
  return typeof runner?.name === "string" && typeof runner.status === "string" &&
    typeof runner.busy === "boolean" && Array.isArray(runner.labels) &&
    runner.labels.every((label) => typeof label?.name === "string");
}

/**
 * Our runners registered to `repos`: those whose name starts with `prefix`. Offline means it is
 * still starting (registered, not yet connected); online is idle or busy. A repository whose
 * runner list cannot be read is reported, so no runner is started there blindly.
 */
export async function managedRunners(
  github: GitHub,
  repos: string[],
  prefix: string,
  concurrency: number,
): Promise<ObservedRunners> {
  const results = await mapLimit(repos, concurrency, async (repo) => {
    const [owner, name] = repo.split("/") as [string, string];
    const items = await listAll(
      github,
      "GET /repos/{owner}/{repo}/actions/runners",
      { owner, repo: name },
      "runners",
    );
    return items.filter(isRunner).filter((r) => r.name.startsWith(prefix)).map((
      r,
    ): ManagedRunner => ({
      name: r.name,
      repo,
      labels: r.labels.map((label) => label.name),
      state: r.status !== "online" ? "starting" : r.busy ? "busy" : "idle",
    }));
  });
  const observed: ObservedRunners = { runners: [], unreadable: [] };
  for (const [i, result] of results.entries()) {
    if (result.status === "fulfilled") {
      observed.runners.push(...result.value);
      continue;
    }
    const auth = authErrorFor(result.reason);
    if (auth) throw auth;
    const repo = repos[i]!;
    log.warn("Could not list the runners of {repo}: {error}", { repo, error: result.reason });
    observed.unreadable.push(repo);
  }
  return observed;
}
