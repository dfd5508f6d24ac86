import { resolve } from "node:path";
import type { ParseArgsOptionsConfig } from "node:util";
import { UsageError } from "../core/errors.ts";
import { DEFAULT_API_TIMEOUT_MS } from "../github/client.ts";
import { DEFAULT_DOCKER_TIMEOUT_MS } from "../runners/docker.ts";
import { RUNNER_PROFILES, type RunnerProfile } from "../core/runner_profiles.ts";
import { apiBaseUrl } from "../github/api_url.ts";
import type { RepoSelection } from "../github/repos.ts";
import { parseLabelList } from "../core/labels.ts";
import { DEFAULT_UPDATE_REPO } from "../update/release.ts";
import type { OptionValues } from "./command.ts";
import type { RunnerKind } from "../core/model.ts";
import type { CacheShare } from "../core/caches.ts";

/** The options `run` and `plan` share (`plan` is one observation of what `run` would do). */
export const RUN_OPTIONS: ParseArgsOptionsConfig = {
  mode: { type: "string" },
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
  image: { type: "string" },
  pull: { type: "string" },
  network: { type: "string" },
  profile: { type: "string" },
  "runner-cpus": { type: "string" },
  "runner-memory": { type: "string" },
  "idle-timeout": { type: "string" },
  "min-idle": { type: "string" },
  "pool-max-age": { type: "string" },
  "name-prefix": { type: "string" },
  "no-cache": { type: "boolean" },
  "cache-share": { type: "string" },
  "cache-max-repo": { type: "string" },
  "cache-max-total": { type: "string" },
  "cache-max-age": { type: "string" },
  "runner-group": { type: "string" },
  "runner-scope": { type: "string" },
  "webhook-listen": { type: "string" },
  "webhook-secret-file": { type: "string" },
  "metrics-listen": { type: "string" },
  "api-concurrency": { type: "string" },
  "api-timeout": { type: "string" },
  "docker-timeout": { type: "string" },
  "no-conditional-requests": { type: "boolean" },
  "update-interval": { type: "string" },
  "no-auto-update": { type: "boolean" },
  "update-repo": { type: "string" },
  "state-dir": { type: "string" },
  root: { type: "string" },
};

/** The runner image used unless `--image` says otherwise: GitHub's own, at a pinned version. */
export const DEFAULT_IMAGE = "ghcr.io/actions/actions-runner:2.332.0";

/** Help text for `RUN_OPTIONS`. */
export const RUN_OPTIONS_HELP = `Where jobs come from:
  --mode poll|scaleset      poll (default): list the queued jobs over the REST API each
                            --interval; scaleset: register this host's own runner scale sets
                            in the --owner organization and run the jobs GitHub assigns them,
                            pushed over a long poll (GitHub hands each job to one host; see the
                            README's "Fleets of hosts")

Which repositories:
  --owner NAME              Watch the repositories of this user or organization (repeatable)
  --repo OWNER/NAME         Watch this repository (repeatable); default: every repository the
                            token can reach
  --since-days N            Skip listed repositories not pushed to within N days (default: 0,
                            keep all: scheduled, dispatched and re-run jobs do not push; a
                            --repo is always kept)

Capacity and matching:
  --max-runners N           At most N runners at once (default: the CPU count); GPU jobs get at
                            most one runner per GPU
  --labels a,b              Extra labels for this host's runners
  --no-arch-filter          Do not skip jobs whose workflow or job names the other architecture

Runners:
  --image IMAGE             Runner image (default: ${DEFAULT_IMAGE}); it must have
                            /home/runner/run.sh, which reads ACTIONS_RUNNER_INPUT_JITCONFIG
  --pull missing|always     Pull the image only when it is missing (default), or before every
                            start
  --profile hardened|sudo|docker
                            What runners may do (default: hardened, no root and no Docker);
                            sudo: root in the container, on an engine that maps it away from
                            the host's root; docker: that, and an engine of the runner's own
                            (sysbox or a rootless engine). See the README's table.
  --network bridge|host     The runners' network (default: bridge); with host, jobs reach this
                            host's loopback services, the daemon's listeners among them
  --runner-cpus N           CPUs per runner (default: the CPU count / --max-runners)
  --runner-memory SIZE      Memory per runner, like 4g or 512m, at least 256m (default: 90%
                            of memory / --max-runners)
  --idle-timeout SECONDS    Remove a runner not busy after this long (default: 300; at least 30)
  --min-idle N|KIND=N,...   A warm pool: keep N idle CPU runners ready, registered and online,
                            so a job starts without waiting for one (default: 0, none);
                            cpu=2,cuda=1 sets each kind (cpu, cuda, rocm, openvino; one per
                            device at most). Kept per organization with --runner-scope org, per
                            --repo with repo scope. Pool runners count against --max-runners and
                            give way to jobs waiting for a place; stopping retires them
  --pool-max-age SECONDS    Replace an unused pool runner after this long, so the image and
                            the runner stay current (default: 3600; at least 60, and with
                            --min-idle at least --idle-timeout)
  --no-cache                Give runners no caches (see Caches below)
  --name-prefix NAME        Runner names are NAME-<host>-<host id>-<random> (default: autoscaler)
  --runner-group ID         Runner group to register in (default: 1, the Default group)
  --runner-scope repo|org   Register runners to the job's repository (default) or to its
                            organization (then one runner may take any of the org's jobs)
  --docker-timeout SECONDS  How long a docker command may take before it counts as failed
                            (default: 60; docker run twice that; pulls 30 minutes; 1 to 600)

Caches (each runner mounts Docker volumes of its repository's own, kept between jobs: the
tool cache of actions/setup-*, and with --profile docker its engine's images and build cache):
  --cache-share repo|org    Whose jobs share a cache: each repository alone (default; org with
                            --mode scaleset, whose runners take any repository's jobs), or all
                            of an organization's repositories (needed for caches with
                            --runner-scope org, whose runners take any of its repositories' jobs)
  --cache-max-repo SIZE     Trim each repository's caches (each organization's with
                            --cache-share org) to this, least recently used first (default: 10g)
  --cache-max-total SIZE    Trim this host's caches to this (default: 50g)
  --cache-max-age DAYS      Remove a cache not used for this long (default: 7)
                            The daemon prunes at its start and every 30th cycle

Events and metrics:
  --webhook-listen HOST:PORT
                            Receive workflow_job webhooks there and act at once (polling stays on)
  --webhook-secret-file FILE
                            The webhook secret (required with --webhook-listen)
  --metrics-listen HOST:PORT
                            Serve Prometheus metrics at /metrics and health at /healthz

Updates (compiled binaries only):
  --update-interval HOURS   Look for a newer signed release this often (default: 6, with jitter)
  --no-auto-update          Never update by itself
  --update-repo OWNER/NAME  Where releases come from (default: ${DEFAULT_UPDATE_REPO})

GitHub:
  --api-concurrency N       Requests to GitHub in flight at once (default: 8)
  --api-timeout SECONDS     How long a request may wait for GitHub's answer to begin, or for
                            the next part of it (default: 30; from 1 to 600)
  --no-conditional-requests Do not send If-None-Match (for measurements: 304s cost nothing)
  --api-url URL             REST API base (default: GITHUB_API_URL, else https://GH_HOST/api/v3
                            when GH_HOST is set, else https://api.github.com); http only to
                            localhost
  --app-id ID, --app-private-key-file FILE, --installation-id ID
                            Sign in as a GitHub App installation instead of with a token
                            (token, first found: GH_TOKEN, GITHUB_TOKEN, \`gh auth token\`)

This host:
  --state-dir DIR           Keep this host's state (its identity, the run lock, cache records,
                            scale sets) in DIR (default: $STATE_DIRECTORY, else
                            $XDG_STATE_HOME/github-autoscaler, else ~/.local/state/github-
                            autoscaler, for root /var/lib/github-autoscaler): two daemons with
                            state directories of their own act as two hosts

Testing:
  --root DIR                Read proc/, sys/ and dev/ below DIR instead of / for host detection`;

/** The GitHub App sign-in given on the command line. */
export interface AppOptions {
  appId: number;
  privateKeyFile: string;
  installationId: number;
}

/** How runners' caches are shared and bounded. */
export interface CacheOptions {
  share: CacheShare;
  maxRepoBytes: number;
  maxTotalBytes: number;
  maxAgeDays: number;
}

/** Where the daemon's demand comes from: REST polling, or its own runner scale sets. */
export type DemandMode = "poll" | "scaleset";

/** Parsed and checked `run`/`plan` options. */
export interface RunOptions {
  mode: DemandMode;
  /** `--state-dir`; null for the default (`stateDirectory`). */
  stateDir: string | null;
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
  image: string;
  pull: "missing" | "always";
  network: "bridge" | "host";
  profile: RunnerProfile;
  /** Null means "derived from the host and --max-runners". */
  runnerCpus: number | null;
  runnerMemoryMiB: number | null;
  idleTimeoutSeconds: number;
  /** `--min-idle`, per kind; null for no warm pool. */
  minIdle: Partial<Record<RunnerKind, number>> | null;
  poolMaxAgeSeconds: number;
  namePrefix: string;
  /** Null with `--no-cache`. */
  cache: CacheOptions | null;
  runnerGroupId: number;
  runnerScope: "repo" | "org";
  /** Null when the daemon must not update itself. */
  updateIntervalHours: number | null;
  updateRepo: string;
  apiConcurrency: number;
  /** The deadline of each request to GitHub. */
  apiTimeoutMs: number;
  /** How long a docker command may take; `docker run` gets twice this. */
  dockerTimeoutMs: number;
  conditionalRequests: boolean;
  webhook: { hostname: string; port: number; secretFile: string } | null;
  metrics: { hostname: string; port: number } | null;
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
  const owners = strings("owner").map((owner) => ownerName("--owner", owner));
  const repos = strings("repo").map((repo) => repoName("--repo", repo));
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
  const mode = oneOf("--mode", string("mode") ?? "poll", ["poll", "scaleset"] as const);
  if (mode === "scaleset") checkScaleSetMode(values, owners, repos);
  const runnerScope = mode === "scaleset" ? "org" : oneOf(
    "--runner-scope",
    string("runner-scope") ?? "repo",
    ["repo", "org"] as const,
  );
  const minIdle = string("min-idle") === undefined ? null : minIdleCounts(string("min-idle")!);
  if (minIdle !== null && runnerScope === "repo" && (repos.length === 0 || owners.length > 0)) {
    throw new UsageError(
      "--min-idle with --runner-scope repo keeps a pool for each repository, so it takes the " +
        "repositories named with --repo (and no --owner); for all of an organization's " +
        "repositories use --runner-scope org",
    );
  }
  const poolMaxAgeSeconds = integer("--pool-max-age", string("pool-max-age") ?? "3600", 60);
  const idleTimeoutSeconds = integer("--idle-timeout", string("idle-timeout") ?? "300", 30);
  if (minIdle !== null && poolMaxAgeSeconds < idleTimeoutSeconds) {
    throw new UsageError(
      `Invalid --pool-max-age "${poolMaxAgeSeconds}": a pool runner gets at least ` +
        `--idle-timeout (${idleTimeoutSeconds} s) to come online`,
    );
  }
  if (minIdle !== null && values.once === true) {
    throw new UsageError(
      "--min-idle keeps runners ready between cycles; it does not go with --once",
    );
  }
  // Checked with --no-cache too: a mistake there is a mistake still.
  const cache: CacheOptions = {
    share: oneOf(
      "--cache-share",
      string("cache-share") ?? (mode === "scaleset" ? "org" : "repo"),
      ["repo", "org"] as const,
    ),
    maxRepoBytes: size("--cache-max-repo", string("cache-max-repo") ?? "10g"),
    maxTotalBytes: size("--cache-max-total", string("cache-max-total") ?? "50g"),
    maxAgeDays: integer("--cache-max-age", string("cache-max-age") ?? "7", 1),
  };
  const stateDir = string("state-dir");
  return {
    mode,
    // Absolute: the service runs it from another directory.
    stateDir: stateDir === undefined ? null : resolve(directory("--state-dir", stateDir)),
    selection: {
      owners,
      repos,
      sinceDays: integer("--since-days", string("since-days") ?? "0", 0),
    },
    intervalSeconds: interval(string("interval") ?? "60"),
    maxRunners: maxRunners === undefined ? null : integer("--max-runners", maxRunners, 0),
    labels: parseLabelList(string("labels") ?? ""),
    archFilter: values["no-arch-filter"] !== true,
    once: values.once === true,
    dryRun: values["dry-run"] === true,
    apiUrl: apiBaseUrl(string("api-url"), env),
    app,
    root: string("root") ?? "/",
    image: nonEmpty("--image", string("image") ?? DEFAULT_IMAGE),
    pull: oneOf("--pull", string("pull") ?? "missing", ["missing", "always"] as const),
    network: network(string("network") ?? "bridge"),
    profile: oneOf("--profile", string("profile") ?? "hardened", RUNNER_PROFILES),
    runnerCpus: string("runner-cpus") === undefined ? null : cpus(string("runner-cpus")!),
    runnerMemoryMiB: string("runner-memory") === undefined
      ? null
      : memory(string("runner-memory")!),
    // A runner takes tens of seconds to come online; a shorter timeout reaps it before then.
    idleTimeoutSeconds,
    namePrefix: namePrefix(string("name-prefix") ?? "autoscaler"),
    cache: values["no-cache"] === true ? null : cache,
    runnerGroupId: integer("--runner-group", string("runner-group") ?? "1", 1),
    runnerScope,
    minIdle,
    poolMaxAgeSeconds,
    updateIntervalHours: values["no-auto-update"] === true
      ? null
      : integer("--update-interval", string("update-interval") ?? "6", 1),
    updateRepo: updateRepo(string("update-repo") ?? DEFAULT_UPDATE_REPO),
    apiConcurrency: Math.min(64, integer("--api-concurrency", string("api-concurrency") ?? "8", 1)),
    apiTimeoutMs:
      timeout("--api-timeout", string("api-timeout") ?? String(DEFAULT_API_TIMEOUT_MS / 1000)) *
      1000,
    dockerTimeoutMs: timeout(
      "--docker-timeout",
      string("docker-timeout") ?? String(DEFAULT_DOCKER_TIMEOUT_MS / 1000),
    ) * 1000,
    conditionalRequests: values["no-conditional-requests"] !== true,
    webhook: webhookOptions(string("webhook-listen"), string("webhook-secret-file")),
    metrics: string("metrics-listen") === undefined
      ? null
      : listenAddress("--metrics-listen", string("metrics-listen")!),
  };
}

/**
 * `--mode scaleset` registers scale sets in one organization and takes what GitHub assigns
 * them: options that choose jobs or runners another way are refused, not ignored.
 */
function checkScaleSetMode(values: OptionValues, owners: string[], repos: string[]): void {
  if (values["cache-share"] === "repo") {
    throw new UsageError(
      "--cache-share repo does not go with --mode scaleset: a scale set's runners take any " +
        "repository's jobs, so caches are shared by the organization (the default here)",
    );
  }
  if (owners.length !== 1 || repos.length > 0) {
    throw new UsageError(
      "--mode scaleset registers runner scale sets in one organization: give it as --owner ORG " +
        "(once, and no --repo)",
    );
  }
  const refused: [string, string][] = [
    ["dry-run", "a scale set is assigned jobs, so a dry run would hold jobs it never runs"],
    ["once", "the scale set's listener runs until stopped"],
    ["webhook-listen", "GitHub pushes the scale set's jobs itself"],
    ["min-idle", "a scale set gets a runner for each job GitHub assigns it"],
    ["runner-scope", "scale set runners belong to the organization"],
    ["since-days", "GitHub assigns jobs of every repository the runner group allows"],
    ["pool-max-age", "a scale set keeps no warm pool"],
    ["no-arch-filter", "GitHub routes by labels alone; a scale set carries its architecture"],
  ];
  for (const [name, why] of refused) {
    if (values[name] !== undefined) {
      throw new UsageError(`--${name} does not go with --mode scaleset: ${why}`);
    }
  }
}

/** Seconds, fractions allowed down to 0.01 (benchmarks); GitHub's limits favour a minute. */
function interval(value: string): number {
  const seconds = Number(value);
  // Timers hold at most 2^31 - 1 ms (24.8 days); a day is the longest interval that makes sense.
  if (!/^\d+(\.\d+)?$/.test(value) || !(seconds >= 0.01 && seconds <= 86_400)) {
    throw new UsageError(
      `Invalid --interval "${value}": give seconds, at least 0.01 and at most 86400`,
    );
  }
  return seconds;
}

const RUNNER_KINDS: readonly RunnerKind[] = ["cpu", "cuda", "rocm", "openvino"];

/** `N` (CPU runners) or `KIND=N,...`; null when nothing is to be kept (all zero). */
function minIdleCounts(value: string): Partial<Record<RunnerKind, number>> | null {
  const wrong = () =>
    new UsageError(
      `Invalid --min-idle "${value}": give a number of idle CPU runners (2), or one per kind ` +
        `(cpu=2,cuda=1; kinds: ${RUNNER_KINDS.join(", ")}), each at most 1000`,
    );
  const counts: Partial<Record<RunnerKind, number>> = {};
  const parts = /^\s*\d+\s*$/.test(value) ? [`cpu=${value}`] : value.split(",");
  for (const part of parts) {
    const [kind, count, ...rest] = part.split("=").map((p) => p.trim());
    const known = RUNNER_KINDS.find((k) => k === kind?.toLowerCase());
    if (!known || rest.length > 0 || !/^\d+$/.test(count ?? "") || known in counts) throw wrong();
    counts[known] = Number(count);
    if (counts[known] > 1000) throw wrong();
  }
  return Object.values(counts).some((n) => n > 0) ? counts : null;
}

function timeout(flag: string, value: string): number {
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(seconds >= 1 && seconds <= 600)) {
    throw new UsageError(`Invalid ${flag} "${value}": give seconds from 1 to 600`);
  }
  return seconds;
}

function network(value: string): "bridge" | "host" {
  if (value === "none") {
    throw new UsageError(
      'Invalid --network "none": a runner must reach GitHub to take its job; use bridge or host',
    );
  }
  return oneOf("--network", value, ["bridge", "host"] as const);
}

function webhookOptions(listen: string | undefined, secretFile: string | undefined) {
  if (listen === undefined) {
    if (secretFile !== undefined) {
      throw new UsageError("--webhook-secret-file goes with --webhook-listen");
    }
    return null;
  }
  if (secretFile === undefined) {
    throw new UsageError(
      "--webhook-listen needs --webhook-secret-file: unsigned webhooks are not accepted",
    );
  }
  return { ...listenAddress("--webhook-listen", listen), secretFile };
}

/** `HOST:PORT` (`127.0.0.1:9090`, `[::1]:9090`, `0.0.0.0:9090`). */
function listenAddress(option: string, value: string): { hostname: string; port: number } {
  const match = value.match(/^(\[[0-9a-f:]+\]|[\w.-]+):(\d{1,5})$/i);
  const port = Number(match?.[2]);
  if (!match?.[1] || !(port >= 0 && port <= 65535)) {
    throw new UsageError(`Invalid ${option} "${value}": give HOST:PORT, like 127.0.0.1:9090`);
  }
  return { hostname: match[1].replace(/^\[|\]$/g, ""), port };
}

function updateRepo(value: string): string {
  if (!/^[\w.-]+\/[\w.-]+$/.test(value)) {
    throw new UsageError(`Invalid --update-repo "${value}": give it as OWNER/NAME`);
  }
  return value;
}

function directory(option: string, value: string): string {
  if (value.trim() === "") throw new UsageError(`Invalid ${option} "${value}": give a directory`);
  return value;
}

function nonEmpty(option: string, value: string): string {
  if (value.trim() === "" || /\s/.test(value)) throw new UsageError(`Invalid ${option} "${value}"`);
  return value;
}

function oneOf<T extends string>(option: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === value);
  if (!found) {
    throw new UsageError(`Invalid ${option} "${value}": use ${allowed.join(", ")}`);
  }
  return found;
}

function cpus(value: string): number {
  const n = Number(value);
  // Docker's smallest share is 0.01 CPU; less makes every start fail.
  if (!/^\d+(\.\d+)?$/.test(value) || !(n >= 0.01)) {
    throw new UsageError(`Invalid --runner-cpus "${value}": give a number of CPUs, at least 0.01`);
  }
  return n;
}

/** A cache size: `10g`, `500m`, `1.5g` (binary units), in bytes. */
function size(option: string, value: string): number {
  const match = value.trim().toLowerCase().match(/^(\d+(?:\.\d+)?)\s*(k|m|g|t)(?:i?b)?$/);
  const bytes = match?.[1] === undefined
    ? Number.NaN
    : Number(match[1]) * 1024 ** ("kmgt".indexOf(match[2]!) + 1);
  if (!(bytes >= 1024 * 1024)) {
    throw new UsageError(
      `Invalid ${option} "${value}": give a size like 10g or 500m (at least 1m)`,
    );
  }
  return Math.floor(bytes);
}

/** `4g`, `512m`, `1.5g`, or a bare number of MiB. */
function memory(value: string): number {
  const match = value.trim().toLowerCase().match(/^(\d+(?:\.\d+)?)\s*(m|mb|mib|g|gb|gib)?$/);
  const mib = match?.[1] === undefined
    ? Number.NaN
    : Number(match[1]) * (match[2]?.startsWith("g") ? 1024 : 1);
  // The runner itself (a .NET program) needs about 200 MiB before a job adds anything.
  if (!(mib >= 256)) {
    throw new UsageError(
      `Invalid --runner-memory "${value}": give a size like 4g or 512m (at least 256m)`,
    );
  }
  return Math.floor(mib);
}

/** A GitHub user or organization name given as `option`, checked. */
export function ownerName(option: string, value: string): string {
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/.test(value)) {
    throw new UsageError(`Invalid ${option} "${value}": give a GitHub user or organization name`);
  }
  return value;
}

/** A repository (`OWNER/NAME`) given as `option`, checked. */
export function repoName(option: string, value: string): string {
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\/[A-Za-z0-9._-]+$/.test(value)) {
    throw new UsageError(`Invalid ${option} "${value}": give it as OWNER/NAME`);
  }
  return value;
}

/** `--name-prefix`, checked and lower-cased (runner names and cache volumes start with it). */
export function namePrefix(value: string): string {
  if (!/^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/i.test(value)) {
    throw new UsageError(
      `Invalid --name-prefix "${value}": use letters, digits and '-' (at most 32 characters)`,
    );
  }
  return value.toLowerCase();
}

function integer(option: string, value: string, min: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`Invalid ${option} "${value}": give a whole number of at least ${min}`);
  }
  return n;
}
