import type { ParseArgsOptionsConfig } from "node:util";
import { UsageError } from "../errors.ts";
import { apiBaseUrl } from "../github/api_url.ts";
import type { RepoSelection } from "../github/repos.ts";
import { parseLabelList } from "../labels.ts";
import type { OptionValues } from "./command.ts";

/** The options `run` and `plan` share (`plan` is one observation of what `run` would do). */
export const RUN_OPTIONS: ParseArgsOptionsConfig = {
  owner: { type: "string", multiple: true },
  repo: { type: "string", multiple: true },
  "since-days": { type: "string" },
  interval: { type: "string" },
  "max-runners": { type: "string" },
  labels: { type: "string" },
  "no-arch-filter": { type: "boolean" },
  once: { type: "boolean" },
  "dry-run": { type: "boolean" },
  "api-url": { type: "string" },
  "app-id": { type: "string" },
  "app-private-key-file": { type: "string" },
  "installation-id": { type: "string" },
  root: { type: "string" },
};

/** Help text for `RUN_OPTIONS`. */
export const RUN_OPTIONS_HELP = `Which repositories:
  --owner NAME              Watch the repositories of this user or organization (repeatable)
  --repo OWNER/NAME         Watch this repository (repeatable); default: every repository the
                            token can reach
  --since-days N            Skip listed repositories not pushed to within N days (default: 1;
                            0 keeps all; a --repo is always kept)

Capacity and matching:
  --max-runners N           At most N runners at once (default: the CPU count); GPU jobs get at
                            most one runner per GPU
  --labels a,b              Extra labels for this host's runners
  --no-arch-filter          Do not skip jobs whose workflow or job names the other architecture

GitHub:
  --api-url URL             REST API base (default: GITHUB_API_URL, else https://GH_HOST/api/v3
                            when GH_HOST is set, else https://api.github.com); http only to
                            localhost
  --app-id ID, --app-private-key-file FILE, --installation-id ID
                            Sign in as a GitHub App installation instead of with a token
                            (token, first found: GH_TOKEN, GITHUB_TOKEN, \`gh auth token\`)

Testing:
  --root DIR                Read proc/, sys/ and dev/ below DIR instead of / for host detection`;

/** The GitHub App sign-in given on the command line. */
export interface AppOptions {
  appId: number;
  privateKeyFile: string;
  installationId: number;
}

/** Parsed and checked `run`/`plan` options. */
export interface RunOptions {
  selection: Omit<RepoSelection, "app">;
  intervalSeconds: number;
  /** Null means "the CPU count". */
  maxRunners: number | null;
  labels: string[];
  archFilter: boolean;
  once: boolean;
  dryRun: boolean;
  apiUrl: string;
  app: AppOptions | null;
  root: string;
}

/** Checks the shared options; every mistake is a `UsageError` naming the option and value. */
export function parseRunOptions(
  values: OptionValues,
  env: (name: string) => string | undefined,
): RunOptions {
  const strings = (name: string) =>
    (Array.isArray(values[name]) ? values[name] : []).filter((v): v is string =>
      typeof v === "string"
    );
  const string = (name: string) => typeof values[name] === "string" ? values[name] : undefined;
  const owners = strings("owner");
  for (const owner of owners) {
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/.test(owner)) {
      throw new UsageError(`Invalid --owner "${owner}": give a GitHub user or organization name`);
    }
  }
  const repos = strings("repo");
  for (const repo of repos) {
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\/[A-Za-z0-9._-]+$/.test(repo)) {
      throw new UsageError(`Invalid --repo "${repo}": give it as OWNER/NAME`);
    }
  }
  const appValues = [string("app-id"), string("app-private-key-file"), string("installation-id")];
  let app: AppOptions | null = null;
  if (appValues.some((v) => v !== undefined)) {
    const [id, file, installation] = appValues;
    if (id === undefined || file === undefined || installation === undefined) {
      throw new UsageError(
        "A GitHub App needs all of --app-id, --app-private-key-file and --installation-id",
      );
    }
    app = {
      appId: integer("--app-id", id, 1),
      privateKeyFile: file,
      installationId: integer("--installation-id", installation, 1),
    };
  }
  const maxRunners = string("max-runners");
  return {
    selection: {
      owners,
      repos,
      sinceDays: integer("--since-days", string("since-days") ?? "1", 0),
    },
    intervalSeconds: integer("--interval", string("interval") ?? "60", 5),
    maxRunners: maxRunners === undefined ? null : integer("--max-runners", maxRunners, 0),
    labels: parseLabelList(string("labels") ?? ""),
    archFilter: values["no-arch-filter"] !== true,
    once: values.once === true,
    dryRun: values["dry-run"] === true,
    apiUrl: apiBaseUrl(string("api-url"), env),
    app,
    root: string("root") ?? "/",
  };
}

function integer(option: string, value: string, min: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`Invalid ${option} "${value}": give a whole number of at least ${min}`);
  }
  return n;
}
