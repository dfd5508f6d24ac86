import { getLogger } from "@logtape/logtape";
import type { Registration } from "../model.ts";
import { mapLimit } from "../pool.ts";
import type { GitHub } from "./client.ts";
import { authErrorFor, describeError, isHttpError } from "./errors.ts";
import { listAll } from "./list.ts";

const log = getLogger(["autoscaler", "github"]);

/** Our registrations, and the repositories whose runner list could not be read. */
export interface ObservedRegistrations {
  registrations: Registration[];
  read: string[];
  unreadable: string[];
}

interface RunnerData {
  id: number;
  name: string;
  status: string;
  busy: boolean;
  labels: { name: string }[];
}

function isRunner(value: unknown): value is RunnerData {
  const runner = value as Partial<RunnerData> | null;
  return typeof runner?.id === "number" && typeof runner.name === "string" &&
    typeof runner.status === "string" && typeof runner.busy === "boolean" &&
    Array.isArray(runner.labels) && runner.labels.every((label) => typeof label?.name === "string");
}

/**
 * Our runner registrations in `repos`: those whose name starts with `prefix`. A repository whose
 * runner list cannot be read is reported, so nothing there is started or removed blindly.
 */
export async function listRegistrations(
  github: GitHub,
  repos: string[],
  prefix: string,
  concurrency: number,
): Promise<ObservedRegistrations> {
  const results = await mapLimit(repos, concurrency, async (repo) => {
    const [owner, name] = repo.split("/") as [string, string];
    const items = await listAll(
      github,
      "GET /repos/{owner}/{repo}/actions/runners",
      { owner, repo: name },
      "runners",
    );
    return items.filter(isRunner).filter((r) => r.name.startsWith(prefix)).map((r) => ({
      id: r.id,
      name: r.name,
      repo,
      labels: r.labels.map((label) => label.name),
      online: r.status === "online",
      busy: r.busy,
    }));
  });
  const observed: ObservedRegistrations = { registrations: [], read: [], unreadable: [] };
  for (const [i, result] of results.entries()) {
    const repo = repos[i]!;
    if (result.status === "fulfilled") {
      observed.registrations.push(...result.value);
      observed.read.push(repo);
      continue;
    }
    const auth = authErrorFor(result.reason);
    if (auth) throw auth;
    log.warn("Could not list the runners of {repo}: {error}", {
      repo,
      error: describeError(result.reason),
    });
    observed.unreadable.push(repo);
  }
  return observed;
}

/** GitHub has no just-in-time runner configuration (GitHub Enterprise Server before 3.10). */
export class JitUnavailable extends Error {
  constructor(repo: string) {
    super(`GitHub has no just-in-time runner registration for ${repo} (404)`);
    this.name = "JitUnavailable";
  }
}

/** Registers an ephemeral just-in-time runner; returns its id and its encoded configuration. */
export async function registerJitRunner(
  github: GitHub,
  repo: string,
  runner: { name: string; labels: string[]; runnerGroupId: number },
): Promise<{ id: number; jitConfig: string }> {
  const [owner, name] = repo.split("/") as [string, string];
  try {
    const response = await github.request(
      "POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig",
      {
        owner,
        repo: name,
        name: runner.name,
        runner_group_id: runner.runnerGroupId,
        labels: runner.labels,
        work_folder: "_work",
      },
    );
    const data = response.data as { runner?: { id?: unknown }; encoded_jit_config?: unknown };
    if (typeof data.runner?.id !== "number" || typeof data.encoded_jit_config !== "string") {
      throw new Error(`generate-jitconfig for ${repo} answered without a runner id or config`);
    }
    return { id: data.runner.id, jitConfig: data.encoded_jit_config };
  } catch (error) {
    if (isHttpError(error) && error.status === 404) throw new JitUnavailable(repo);
    throw authErrorFor(error) ?? error;
  }
}

/** Deletes a runner registration: `deleted`, `busy` (422: retry later) or `gone` (404). */
export async function deleteRunner(
  github: GitHub,
  repo: string,
  runnerId: number,
): Promise<"deleted" | "busy" | "gone"> {
  const [owner, name] = repo.split("/") as [string, string];
  try {
    await github.request("DELETE /repos/{owner}/{repo}/actions/runners/{runner_id}", {
      owner,
      repo: name,
      runner_id: runnerId,
    });
    return "deleted";
  } catch (error) {
    if (isHttpError(error) && error.status === 422) return "busy";
    if (isHttpError(error) && error.status === 404) return "gone";
    throw authErrorFor(error) ?? error;
  }
}
