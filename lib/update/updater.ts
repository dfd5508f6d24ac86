import type { GitHub } from "../github/client.ts";
import type { CommandRunner } from "../system/command.ts";
import { downloadAsset } from "./download.ts";
import {
  binaryAsset,
  compareVersions,
  findRelease,
  SIGNATURE_ASSET,
  SUMS_ASSET,
  UpdateError,
} from "./release.ts";
import { parseSums, sha256Hex, verify } from "./signing.ts";
import { markInstalled, replaceBinary } from "./swap.ts";

/** What an update needs; tests give a stand-in target, their own key and the simulator. */
export interface UpdateDeps {
  github: GitHub;
  run: CommandRunner;
  /** The executable to replace. */
  target: string;
  /** The Ed25519 public key (raw, base64) the checksums must be signed with. */
  publicKey: string;
  arch: "x64" | "arm64";
  currentVersion: string;
  onProgress?: (received: number, total: number | null) => void;
}

/** What `self-update` asks for. */
export interface UpdateRequest {
  repo: string;
  /** A version to go to, also an older one. */
  to?: string;
  prerelease?: boolean;
  /** Only report. */
  check?: boolean;
}

/** What happened. */
export interface UpdateOutcome {
  status: "up-to-date" | "available" | "updated";
  from: string;
  to: string;
}

/**
 * Looks up the release and, unless it is not newer (or `check`), installs it: the binary's
 * SHA-256 must match `SHA256SUMS`, whose Ed25519 signature must verify with the release key, and
 * the new binary must report the release's version. Anything else is an `UpdateError`, with the
 * current binary untouched.
 */
export async function selfUpdate(deps: UpdateDeps, request: UpdateRequest): Promise<UpdateOutcome> {
  const release = await findRelease(deps.github, request.repo, request);
  const from = deps.currentVersion;
  const order = compareVersions(release.version, from);
  if (order === 0 || (order < 0 && request.to === undefined)) {
    return { status: "up-to-date", from, to: release.version };
  }
  if (request.check) return { status: "available", from, to: release.version };
  const name = binaryAsset(deps.arch);
  const binaryUrl = release.assets.get(name);
  if (!binaryUrl) {
    throw new UpdateError(
      `Release ${release.tag} has no ${name} for this host (linux-${deps.arch})`,
    );
  }
  const sumsUrl = release.assets.get(SUMS_ASSET);
  const signatureUrl = release.assets.get(SIGNATURE_ASSET);
  if (!sumsUrl || !signatureUrl) {
    throw new UpdateError(
      `Release ${release.tag} has no ${!sumsUrl ? SUMS_ASSET : SIGNATURE_ASSET}: an unverifiable ` +
        "binary is not installed",
    );
  }
  const text = new TextDecoder();
  const sums = text.decode(await downloadAsset(deps.github, sumsUrl, SUMS_ASSET));
  const signature = text.decode(await downloadAsset(deps.github, signatureUrl, SIGNATURE_ASSET));
  if (!(await verify(deps.publicKey, sums, signature))) {
    throw new UpdateError(
      `The signature of ${SUMS_ASSET} in ${release.tag} does not verify with the release key`,
    );
  }
  const expected = parseSums(sums).get(name);
  if (!expected) throw new UpdateError(`${SUMS_ASSET} of ${release.tag} does not list ${name}`);
  const bytes = await downloadAsset(deps.github, binaryUrl, name, deps.onProgress);
  const actual = await sha256Hex(bytes);
  if (actual !== expected) {
    throw new UpdateError(
      `Checksum mismatch for ${name}: ${SUMS_ASSET} says ${expected}, got ${actual}`,
    );
  }
  await replaceBinary(deps.run, deps.target, bytes, release.version);
  await markInstalled(deps.target, release.version);
  return { status: "updated", from, to: release.version };
}
