import { getLogger } from "@logtape/logtape";
import type { GitHub } from "./client.ts";
import { authErrorFor, isHttpError } from "./errors.ts";
import { listAll } from "./list.ts";

const log = getLogger(["autoscaler", "github"]);

/** Which repositories to watch. */
export interface RepoSelection {
  /** Users or organizations whose repositories to watch. */
  owners: string[];
  /** `owner/name` of repositories to watch, whatever their push date. */
  repos: string[];
  /** Skip listed repositories not pushed to within this many days; 0 keeps them all. */
  sinceDays: number;
  /** Whether the client is a GitHub App installation (which lists its repositories its own way). */
  app: boolean;
}

/** The fields of a listed repository that matter here. */
interface ListedRepo {
  full_name: string;
  owner: { login: string };
  archived?: boolean;
  disabled?: boolean;
  pushed_at: string | null;
}

function isListedRepo(value: unknown): value is ListedRepo {
  const repo = value as Partial<ListedRepo> | null;
  return typeof repo?.full_name === "string" && typeof repo.owner?.login === "string";
}

/**
 * The repositories to watch, as `owner/name`, sorted: each `--repo`, plus for each `--owner` its
 * repositories (an organization's, or those of a user that the token reaches), or by default
 * every repository the token reaches; archived ones and those not pushed to within `sinceDays`
 * are left out. Auth failures throw `AuthError`; other failures of one owner are logged.
 */
export async function listRepositories(
  github: GitHub,
  selection: RepoSelection,
  now: Date,
): Promise<string[]> {
  const found = new Map<string, string>();
  for (const name of selection.repos) found.set(name.toLowerCase(), name);
  const listed: ListedRepo[] = [];
  let reachable: ListedRepo[] | null = null;
  const allReachable = async () => reachable ??= await listReachable(github, selection.app);
  try {
    if (selection.owners.length === 0 && selection.repos.length === 0) {
      listed.push(...await allReachable());
    }
    for (const owner of selection.owners) {
      const ofOrg = await listOrg(github, owner);
      listed.push(
        ...(ofOrg ??
          (await allReachable()).filter((r) =>
            r.owner.login.toLowerCase() === owner.toLowerCase()
          )),
      );
    }
  } catch (error) {
    throw authErrorFor(error) ?? error;
  }
  const cutoff = now.getTime() - selection.sinceDays * 86_400_000;
  for (const repo of listed) {
    if (repo.archived || repo.disabled) continue;
    const pushed = repo.pushed_at === null ? Number.NaN : Date.parse(repo.pushed_at);
    if (selection.sinceDays > 0 && !(pushed >= cutoff)) continue;
    found.set(repo.full_name.toLowerCase(), repo.full_name);
  }
  return [...found.values()].sort((a, b) => a.localeCompare(b));
}

/** Every repository the token (or the App installation) reaches. */
async function listReachable(github: GitHub, app: boolean): Promise<ListedRepo[]> {
  const items = app
    ? await listAll(github, "GET /installation/repositories", {}, "repositories")
    : await listAll(
      github,
      "GET /user/repos",
      { affiliation: "owner,collaborator,organization_member" },
      null,
    );
  return keepValid(items, app ? "GET /installation/repositories" : "GET /user/repos");
}

/** An organization's repositories, or null when `owner` is not an organization (404). */
async function listOrg(github: GitHub, owner: string): Promise<ListedRepo[] | null> {
  try {
    const items = await listAll(github, "GET /orgs/{org}/repos", { org: owner, type: "all" }, null);
    return keepValid(items, `GET /orgs/${owner}/repos`);
  } catch (error) {
    if (isHttpError(error) && error.status === 404) return null;
    throw error;
  }
}

function keepValid(items: unknown[], source: string): ListedRepo[] {
  const valid = items.filter(isListedRepo);
  if (valid.length < items.length) {
    log.warn("Skipped {count} malformed repositories in the answer to {source}", {
      count: items.length - valid.length,
      source,
    });
  }
  return valid;
}
