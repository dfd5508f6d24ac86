import { getLogger } from "@logtape/logtape";
import type { Registration } from "../core/model.ts";
import { mapLimit } from "./pool.ts";
import type { GitHub } from "./client.ts";
import { RateLimited } from "./budget.ts";
import { authErrorFor, describeError, isHttpError } from "./errors.ts";
import { listAll } from "./list.ts";

const log = getLogger(["autoscaler", "github"]);

/** The REST path of a scope: `repos/owner/name` or `orgs/owner`. */
function scopePath(scope: string): { path: string; params: Record<string, string> } {
  const [owner, name] = scope.split("/") as [string, string | undefined];
  return name === undefined
    ? { path: "/orgs/{org}", params: { org: owner } }
    : { path: "/repos/{owner}/{repo}", params: { owner, repo: name } };
}

/** Our registrations, and the scopes whose runner list could not be read. */
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
 * Our runner registrations in `scopes` (repositories or organizations): those whose name starts
 * with `prefix`. A scope whose runner list cannot be read is reported, so nothing there is
 * started or removed blindly. Once `signal` aborts, its reason is thrown instead.
 */
export async function listRegistrations(
  github: GitHub,
  scopes: string[],
  prefix: string,
  concurrency: number,
  signal?: AbortSignal,
): Promise<ObservedRegistrations> {
  const results = await mapLimit(scopes, concurrency, async (scope) => {
    const { path, params } = scopePath(scope);
    const items = await listAll(github, `GET ${path}/actions/runners`, params, "runners");
    return items.filter(isRunner).filter((r) => r.name.startsWith(prefix)).map((r) => ({
      id: r.id,
      name: r.name,
      scope,
      labels: r.labels.map((label) => label.name),
      online: r.status === "online",
      busy: r.busy,
    }));
  });
  // Stopped: every list failed for that, not for its scope.
  signal?.throwIfAborted();
  const observed: ObservedRegistrations = { registrations: [], read: [], unreadable: [] };
  for (const [i, result] of results.entries()) {
    const scope = scopes[i]!;
    if (result.status === "fulfilled") {
      observed.registrations.push(...result.value);
      observed.read.push(scope);
      continue;
    }
    const auth = authErrorFor(result.reason);
    if (auth?.reach === "token") throw auth;
    if (result.reason instanceof RateLimited) throw result.reason;
    log.warn("Could not list the runners of {scope}: {error}", {
      scope,
      error: auth ? auth.message : describeError(result.reason),
    });
    observed.unreadable.push(scope);
  }
  return observed;
}

/** GitHub has no just-in-time runner configuration (GitHub Enterprise Server before 3.10). */
export class JitUnavailable extends Error {
  constructor(scope: string) {
    super(`GitHub has no just-in-time runner registration for ${scope} (404)`);
    this.name = "JitUnavailable";
  }
}

/**
 * Registers an ephemeral just-in-time runner to a scope (repository or organization); returns
 * its id and its encoded configuration.
 */
export async function registerJitRunner(
  github: GitHub,
  scope: string,
  runner: { name: string; labels: string[]; runnerGroupId: number },
): Promise<{ id: number; jitConfig: string }> {
  const { path, params } = scopePath(scope);
  try {
    const response = await github.request(
      `POST ${path}/actions/runners/generate-jitconfig`,
      {
        ...params,
        name: runner.name,
        runner_group_id: runner.runnerGroupId,
        labels: runner.labels,
        work_folder: "_work",
      },
    );
    const data = response.data as { runner?: { id?: unknown }; encoded_jit_config?: unknown };
    if (typeof data.runner?.id !== "number" || typeof data.encoded_jit_config !== "string") {
      throw new Error(`generate-jitconfig for ${scope} answered without a runner id or config`);
    }
    return { id: data.runner.id, jitConfig: data.encoded_jit_config };
  } catch (error) {
    if (isHttpError(error) && error.status === 404) throw new JitUnavailable(scope);
    throw authErrorFor(error) ?? error;
  }
}

/** A registration token for `config.sh` (valid one hour), where JIT is not available. */
export async function registrationToken(github: GitHub, scope: string): Promise<string> {
  const { path, params } = scopePath(scope);
  try {
    const response = await github.request(
      `POST ${path}/actions/runners/registration-token`,
      params,
    );
    const token = (response.data as { token?: unknown }).token;
    if (typeof token !== "string") {
      throw new Error(`registration-token for ${scope} answered without a token`);
    }
    return token;
  } catch (error) {
    throw authErrorFor(error) ?? error;
  }
}

/** Deletes a runner registration: `deleted`, `busy` (422: retry later) or `gone` (404). */
export async function deleteRunner(
  github: GitHub,
  scope: string,
  runnerId: number,
): Promise<"deleted" | "busy" | "gone"> {
  const { path, params } = scopePath(scope);
  try {
    await github.request(`DELETE ${path}/actions/runners/{runner_id}`, {
      ...params,
      runner_id: runnerId,
    });
    return "deleted";
  } catch (error) {
    if (isHttpError(error) && error.status === 422) return "busy";
    if (isHttpError(error) && error.status === 404) return "gone";
    throw authErrorFor(error) ?? error;
  }
}
