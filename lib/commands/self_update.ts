import { UsageError } from "../core/errors.ts";
import { apiBaseUrl } from "../github/api_url.ts";
import { createGitHub, type GitHub } from "../github/client.ts";
import { findToken } from "../github/token.ts";
import { isCompiled } from "../program/self.ts";
import { normalizeArch } from "../system/arch.ts";
import { RELEASE_PUBLIC_KEY } from "../update/release_key.ts";
import { DEFAULT_UPDATE_REPO } from "../update/release.ts";
import { rollBack } from "../update/swap.ts";
import { selfUpdate } from "../update/updater.ts";
import { VERSION } from "../program/version.ts";
import type { Command, Deps } from "./command.ts";

/** A client for release look-ups: with a token when one is found (private repos), else without. */
export async function releaseClient(deps: Deps, apiUrl: string): Promise<GitHub> {
  const token = await findToken(deps.env, deps.run).then((t) => t.token).catch(() => null);
  return createGitHub(apiUrl, token === null ? { kind: "none" } : { kind: "token", token });
}

/** A one-line progress bar on stderr, for terminals. */
export function progressBar(name: string): (received: number, total: number | null) => void {
  const encoder = new TextEncoder();
  return (received, total) => {
    const mib = (n: number) => (n / 1024 ** 2).toFixed(1);
    const line = total === null
      ? `\r${name}: ${mib(received)} MiB`
      : `\r${name}: ${Math.floor((received / total) * 100)}% of ${mib(total)} MiB`;
    Deno.stderr.writeSync(encoder.encode(line + (total !== null && received >= total ? "\n" : "")));
  };
}

/** `autoscaler self-update`: replace this binary with a newer signed release. */
export const selfUpdateCommand: Command = {
  name: "self-update",
  summary: "Replace this binary with the newest signed release (or check, or roll back)",
  help: `Usage: autoscaler self-update [--check] [--to VERSION] [--prerelease] [--yes]
                              [--rollback] [--update-repo OWNER/NAME] [--api-url URL]

Looks up the newest release of ${DEFAULT_UPDATE_REPO} (--update-repo to change it), downloads
the binary for this host, checks its SHA-256 against SHA256SUMS and that file's Ed25519
signature against the release key built into this program, runs the new binary's --version,
and swaps it in atomically, keeping this one as <binary>.previous. Never goes to an older
version unless --to asks for it. Any failure leaves this binary as it is. Only for compiled
binaries: from source, update with git.

Options:
  --check                   Only say whether a newer release exists
  --to VERSION              Install this version (also an older one)
  --prerelease              Consider pre-releases too
  --yes                     Do not ask before replacing (asked only on a terminal)
  --rollback                Put <binary>.previous back
  --update-repo OWNER/NAME  Where releases come from (default: ${DEFAULT_UPDATE_REPO})
  --api-url URL             REST API base (default as for run)`,
  options: {
    check: { type: "boolean" },
    to: { type: "string" },
    prerelease: { type: "boolean" },
    yes: { type: "boolean" },
    rollback: { type: "boolean" },
    "update-repo": { type: "string" },
    "api-url": { type: "string" },
  },
  async run(values, deps) {
    if (!isCompiled()) {
      throw new UsageError(
        "self-update replaces compiled binaries only; this copy runs from source with deno run, " +
          "so update it with git (git pull)",
      );
    }
    const target = Deno.execPath();
    if (values.rollback === true) {
      await rollBack(target);
      deps.print(`Rolled back ${target} to its previous version\n`);
      return 0;
    }
    const repo = typeof values["update-repo"] === "string"
      ? values["update-repo"]
      : DEFAULT_UPDATE_REPO;
    if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) throw new UsageError(`Invalid --update-repo "${repo}"`);
    const arch = normalizeArch(deps.runtimeArch);
    if (arch === null) throw new Error(`No releases are built for ${deps.runtimeArch}`);
    const github = await releaseClient(
      deps,
      apiBaseUrl(typeof values["api-url"] === "string" ? values["api-url"] : undefined, deps.env),
    );
    const base = {
      github,
      run: deps.run,
      target,
      publicKey: RELEASE_PUBLIC_KEY,
      arch,
      currentVersion: VERSION,
    };
    const request = {
      repo,
      to: typeof values.to === "string" ? values.to : undefined,
      prerelease: values.prerelease === true,
    };
    const found = await selfUpdate(base, { ...request, check: true });
    if (found.status === "up-to-date") {
      deps.print(`autoscaler ${VERSION} is up to date (newest release: ${found.to})\n`);
      return 0;
    }
    if (values.check === true) {
      deps.print(`autoscaler ${found.to} is available (this is ${VERSION})\n`);
      return 0;
    }
    if (values.yes !== true && Deno.stdin.isTerminal()) {
      const answer = prompt(`Replace autoscaler ${VERSION} with ${found.to}? [y/N]`);
      if (!/^y(es)?$/i.test(answer?.trim() ?? "")) {
        deps.print("Nothing changed.\n");
        return 0;
      }
    }
    const terminal = Deno.stderr.isTerminal();
    const done = await selfUpdate(
      { ...base, onProgress: terminal ? progressBar(`autoscaler ${found.to}`) : undefined },
      request,
    );
    deps.print(
      `Updated ${target} from ${done.from} to ${done.to}; the previous version is kept as ` +
        `${target}.previous (self-update --rollback puts it back)\n`,
    );
    return 0;
  },
};
