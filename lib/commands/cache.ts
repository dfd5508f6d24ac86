import { UsageError } from "../core/errors.ts";
import { describeCacheKey, formatBytes } from "../core/caches.ts";
import { type CacheEntry, CacheVolumes } from "../runners/cache_volumes.ts";
import { DEFAULT_DOCKER_TIMEOUT_MS } from "../runners/docker.ts";
import { hostId, stateDirectory } from "../system/host_id.ts";
import { actionOf, type Command, type Deps, type OptionValues } from "./command.ts";
import { runnerPrefix } from "./setup.ts";
import { namePrefix, ownerName, repoName } from "./run_options.ts";
import { takeRunLock } from "../system/run_lock.ts";

const VERBS = ["ls", "prune"] as const;

/** `autoscaler cache ls|prune`: this host's runner caches. */
export const cacheCommand: Command = {
  name: "cache",
  summary: "List this host's runner caches, or remove them",
  help: `Usage: autoscaler cache ls [--json] [--name-prefix NAME]
       autoscaler cache prune [--repo OWNER/NAME | --org OWNER] [--name-prefix NAME]

The runners' caches are Docker volumes, one set per repository (or organization, with
run --cache-share org) and per slot: runners of one repository at once each take a slot of
their own. The daemon trims them to --cache-max-repo, --cache-max-total and --cache-max-age by
itself; prune removes them now, while no daemon runs with this state directory (stop the
service first). This host's identity, which the caches carry, is in the state directory of the
user who runs this, as for the service (run it as that user).

  ls      Each slot: whose it is, its size (Docker's, to 4 digits), when a runner last took it,
          and whether one holds it now
  prune   Remove every slot no runner holds (of one repository or organization with --repo or
          --org); the next job of that repository starts with an empty cache

Options:
  --json                    With ls: a JSON array instead of a table
  --repo OWNER/NAME         With prune: only this repository's caches
  --org OWNER               With prune: only this organization's shared caches
  --name-prefix NAME        The daemon's --name-prefix (default: autoscaler)
  --state-dir DIR           The daemon's --state-dir, where its host identity is`,
  options: {
    json: { type: "boolean" },
    repo: { type: "string" },
    org: { type: "string" },
    "name-prefix": { type: "string" },
    "state-dir": { type: "string" },
  },
  positionals: true,
  async run(values, deps, input) {
    const verb = actionOf("cache", input.positionals, VERBS);
    if (verb === "ls" && (values.repo !== undefined || values.org !== undefined)) {
      throw new UsageError("--repo and --org go with prune");
    }
    if (verb === "prune" && values.json === true) throw new UsageError("--json goes with ls");
    const key = keyOf(values);
    const stateDir = stateDirectory(
      deps.env,
      deps.uid,
      typeof values["state-dir"] === "string" ? values["state-dir"] : null,
    );
    // A runner may be taking a slot as it goes: prune only while no daemon runs here.
    using _lock = verb === "prune" ? await takeRunLock(stateDir) : null;
    const volumes = await cacheVolumes(values, deps, stateDir);
    const entries = await volumes.list();
    if (verb === "ls") {
      deps.print(
        values.json === true ? `${JSON.stringify(entries.map(toJson), null, 2)}\n` : table(entries),
      );
      return 0;
    }
    let removed = 0;
    let freed = 0;
    const held: CacheEntry[] = [];
    // GitHub's names are case-insensitive; the keys keep GitHub's spelling.
    const chosen = entries.filter((e) => key === null || e.key.toLowerCase() === key);
    for (const entry of chosen) {
      if (await volumes.remove(entry)) {
        removed++;
        freed += entry.bytes;
      } else held.push(entry);
    }
    deps.print(
      `Removed ${removed} cache slot${removed === 1 ? "" : "s"} (${formatBytes(freed)})` +
        (held.length === 0
          ? "\n"
          : `; ${held.length} left, held by a runner or not removable: ${
            held.map((e) => `${describeCacheKey(e.key)} slot ${e.slot}`).join(", ")
          }\n`),
    );
    return held.length === 0 ? 0 : 1;
  },
};

async function cacheVolumes(
  values: OptionValues,
  deps: Deps,
  stateDir: string,
): Promise<CacheVolumes> {
  const name = namePrefix(
    typeof values["name-prefix"] === "string" ? values["name-prefix"] : "autoscaler",
  );
  const id = await hostId(stateDir);
  return new CacheVolumes(
    deps.run,
    runnerPrefix(deps.hostname, id, name),
    id,
    stateDir,
    DEFAULT_DOCKER_TIMEOUT_MS,
  );
}

function keyOf(values: OptionValues): string | null {
  const { repo, org } = values;
  if (repo !== undefined && org !== undefined) {
    throw new UsageError("Give --repo or --org, not both");
  }
  if (typeof repo === "string") return `repo:${repoName("--repo", repo)}`.toLowerCase();
  if (typeof org === "string") return `org:${ownerName("--org", org)}`.toLowerCase();
  return null;
}

function toJson(entry: CacheEntry) {
  return {
    key: entry.key,
    slot: entry.slot,
    bytes: entry.bytes,
    lastUsed: entry.lastUsedMs > 0 ? new Date(entry.lastUsedMs).toISOString() : null,
    inUse: entry.inUse,
    volumes: entry.volumes,
  };
}

function table(entries: CacheEntry[]): string {
  if (entries.length === 0) return "No runner caches on this host\n";
  const rows = [
    ["CACHE", "SLOT", "SIZE", "LAST USED", "IN USE"],
    ...entries.map((e) => [
      describeCacheKey(e.key),
      String(e.slot),
      formatBytes(e.bytes),
      e.lastUsedMs > 0 ? new Date(e.lastUsedMs).toISOString().replace(/\.\d+Z$/, "Z") : "-",
      e.inUse ? "yes" : "no",
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const total = entries.reduce((sum, e) => sum + e.bytes, 0);
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd())
    .join("\n") + `\nTotal: ${formatBytes(total)} in ${entries.length} slots\n`;
}
