import type { GitHub } from "../github/client.ts";
import { describeError, isHttpError } from "../github/errors.ts";

/** The repository releases come from, unless `--update-repo` says otherwise. */
export const DEFAULT_UPDATE_REPO = "github-autoscaler/github-autoscaler";

/** The asset names a release carries for this program. */
export const SUMS_ASSET = "SHA256SUMS";
export const SIGNATURE_ASSET = "SHA256SUMS.sig";

/** The binary's asset name for an architecture (`autoscaler-linux-x64`). */
export function binaryAsset(arch: "x64" | "arm64"): string {
  return `autoscaler-linux-${arch}`;
}

/** A release as the updater needs it. */
export interface Release {
  tag: string;
  /** The version, without a leading `v`. */
  version: string;
  /** Asset name to its API address (which redirects to the bytes). */
  assets: Map<string, string>;
}

/** No release, or none that fits: the updater reports it and changes nothing. */
export class UpdateError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UpdateError";
  }
}

/** Orders versions like `1.2.3` and `1.2.3-rc.1` (a pre-release sorts before its release). */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core = "", pre] = v.replace(/^v/, "").split("-", 2);
    return { parts: core.split(".").map((n) => Number.parseInt(n, 10) || 0), pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < Math.max(x.parts.length, y.parts.length); i++) {
    const d = (x.parts[i] ?? 0) - (y.parts[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre.localeCompare(y.pre, "en", { numeric: true });
}

/**
 * The release to install: tag `v<to>` when asked for, else the newest published one (with
 * pre-releases only when `prerelease`).
 */
export async function findRelease(
  github: GitHub,
  repo: string,
  options: { to?: string; prerelease?: boolean },
): Promise<Release> {
  const [owner, name] = repo.split("/") as [string, string];
  let data: unknown;
  try {
    if (options.to !== undefined) {
      const tag = options.to.startsWith("v") ? options.to : `v${options.to}`;
      data = (await github.request("GET /repos/{owner}/{repo}/releases/tags/{tag}", {
        owner,
        repo: name,
        tag,
      })).data;
    } else if (options.prerelease) {
      const list = (await github.request("GET /repos/{owner}/{repo}/releases", {
        owner,
        repo: name,
        per_page: 10,
      })).data as unknown[];
      data = list.find((r) => !(r as { draft?: boolean }).draft);
      if (data === undefined) throw new UpdateError(`${repo} has no releases`);
    } else {
      data = (await github.request("GET /repos/{owner}/{repo}/releases/latest", {
        owner,
        repo: name,
      })).data;
    }
  } catch (error) {
    if (error instanceof UpdateError) throw error;
    if (isHttpError(error) && error.status === 404) {
      throw new UpdateError(
        options.to !== undefined
          ? `${repo} has no release ${options.to}`
          : `${repo} has no published release`,
      );
    }
    throw new UpdateError(`Cannot look up releases of ${repo}: ${describeError(error)}`, {
      cause: error,
    });
  }
  const release = data as { tag_name?: unknown; assets?: { name?: unknown; url?: unknown }[] };
  if (typeof release?.tag_name !== "string" || !Array.isArray(release.assets)) {
    throw new UpdateError(`The release answer from ${repo} has no tag or assets`);
  }
  return {
    tag: release.tag_name,
    version: release.tag_name.replace(/^v/, ""),
    assets: new Map(
      release.assets.filter((a) => typeof a.name === "string" && typeof a.url === "string")
        .map((a) => [a.name as string, a.url as string]),
    ),
  };
}
