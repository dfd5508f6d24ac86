import { Docker } from "../runners/docker.ts";
import { createGitHub, type GitHubAuth } from "../github/client.ts";
import { describeError, isHttpError, NEEDED_PERMISSIONS } from "../github/errors.ts";
import { findToken } from "../github/token.ts";
import { hostLabels } from "../core/labels.ts";
import { servicePaths } from "../service/install.ts";
import { UNIT_NAME } from "../service/unit.ts";
import { toolResult } from "../system/command.ts";
import { detectHost } from "../system/host.ts";
import type { Command, Deps } from "./command.ts";
import { parseRunOptions, RUN_OPTIONS, RUN_OPTIONS_HELP, type RunOptions } from "./run_options.ts";

/** One check: `ok`/`fail` count for the exit code; `warn` and `info` do not. */
export interface Check {
  status: "ok" | "fail" | "warn" | "info";
  name: string;
  detail: string;
  fix?: string;
}

/** How far the host clock may be from GitHub's before it is called wrong. */
const MAX_SKEW_S = 60;

/** `autoscaler doctor`: everything `run` needs, one line each with the fix. */
export const doctorCommand: Command = {
  name: "doctor",
  summary:
    "Check what running needs (token, API, rate limit, Docker, image, clock) and say the fix",
  help: `Usage: autoscaler doctor [run options]

One line per check, with the fix for each that fails: the architecture; a token (and, for a
classic token, its scopes) and that GitHub accepts it; the API answers and the rate limit left;
the Docker engine and the runner image (--image); GPUs seen; the service installed and active;
the clock against GitHub's. Exits 0 only when everything needed to run passes (GPUs, the image
and the service are reported, not required). Takes the run options, to check what "run" with
them would use.

${RUN_OPTIONS_HELP}`,
  options: RUN_OPTIONS,
  async run(values, deps) {
    const options = parseRunOptions(values, deps.env);
    const checks = await diagnose(options, deps);
    const mark = { ok: "[ ok ]", fail: "[FAIL]", warn: "[warn]", info: "[info]" };
    deps.print(
      checks.map((c) =>
        `${mark[c.status]} ${c.name}: ${c.detail}${c.fix ? `\n       fix: ${c.fix}` : ""}`
      ).join("\n") + "\n",
    );
    const failed = checks.filter((c) => c.status === "fail").length;
    deps.print(failed === 0 ? "Ready to run.\n" : `${failed} check(s) failed.\n`);
    return failed === 0 ? 0 : 1;
  },
};

async function diagnose(options: RunOptions, deps: Deps): Promise<Check[]> {
  const checks: Check[] = [];
  const host = await detectHost({
    root: options.root,
    run: deps.run,
    runtimeArch: deps.runtimeArch,
  });
  checks.push(
    host.arch.name === null
      ? {
        status: "fail",
        name: "Architecture",
        detail: `${host.arch.machine} is not supported`,
        fix: "run on an x64 or arm64 host (a 64-bit kernel)",
      }
      : { status: "ok", name: "Architecture", detail: host.arch.name },
  );
  checks.push(...await githubChecks(options, deps));
  if (host.docker.available) {
    checks.push({ status: "ok", name: "Docker", detail: `engine ${host.docker.serverVersion}` });
    const image = await new Docker(deps.run, options.dockerTimeoutMs).hasImage(options.image);
    checks.push(
      image ? { status: "ok", name: "Runner image", detail: `${options.image} is present` } : {
        status: "warn",
        name: "Runner image",
        detail: `${options.image} is not present; it is pulled before the first runner starts`,
        fix: `docker pull ${options.image} (on an offline host, docker load it first)`,
      },
    );
  } else {
    checks.push({
      status: "fail",
      name: "Docker",
      detail: `no engine answers (${host.docker.reason})`,
      fix: "install and start Docker (sudo systemctl enable --now docker) and let this user use " +
        "it (sudo usermod -aG docker $USER, then log in again)",
    });
  }
  const accelerators = hostLabels(host).filter((l) => ["cuda", "rocm", "openvino"].includes(l));
  checks.push({
    status: "info",
    name: "GPUs",
    detail: accelerators.length > 0
      ? `${accelerators.join(", ")} (${host.nvidia.gpus.length} NVIDIA, ${host.amd.gpus.length} ` +
        `AMD, ${host.intel.gpus.length + host.intel.npus.length} Intel)`
      : `none; runners are CPU-only (${host.nvidia.reason ?? "no NVIDIA GPU"})`,
  });
  checks.push(await serviceCheck(deps));
  return checks;
}

/** Token, API, rate limit and clock, from one `GET /rate_limit` (which costs no rate limit). */
async function githubChecks(options: RunOptions, deps: Deps): Promise<Check[]> {
  let auth: GitHubAuth;
  let source: string;
  try {
    if (options.app) {
      auth = {
        kind: "app",
        appId: options.app.appId,
        installationId: options.app.installationId,
        privateKey: await Deno.readTextFile(options.app.privateKeyFile),
      };
      source = `GitHub App ${options.app.appId}, installation ${options.app.installationId}`;
    } else {
      const found = await findToken(deps.env, deps.run);
      auth = { kind: "token", token: found.token };
      source = `from ${found.source}`;
    }
  } catch (error) {
    return [{
      status: "fail",
      name: "Token",
      detail: describeError(error),
      fix: "gh auth login, or set GH_TOKEN",
    }];
  }
  const checks: Check[] = [{ status: "ok", name: "Token", detail: source }];
  let response;
  try {
    response = await createGitHub(options.apiUrl, auth, {
      timeoutMs: options.apiTimeoutMs,
      signal: deps.signal,
    }).request("GET /rate_limit");
  } catch (error) {
    if (isHttpError(error) && error.status === 401) {
      return [...checks, {
        status: "fail",
        name: "Token valid",
        detail: "GitHub rejects it (401): revoked, expired or mistyped",
        fix: "gh auth login (or a new token in GH_TOKEN); then reinstall the service",
      }];
    }
    return [...checks, {
      status: "fail",
      name: "API",
      detail: `${options.apiUrl} does not answer: ${describeError(error)}`,
      fix: "check the network, GH_HOST / GITHUB_API_URL / --api-url, and any proxy",
    }];
  }
  const headers = response.headers as Record<string, string | undefined>;
  checks.push({ status: "ok", name: "API", detail: `${options.apiUrl} answers` });
  const scopes = headers["x-oauth-scopes"];
  if (scopes !== undefined) {
    const list = scopes.split(",").map((s) => s.trim()).filter(Boolean);
    checks.push(
      list.includes("repo") ? { status: "ok", name: "Token scopes", detail: list.join(", ") } : {
        status: "fail",
        name: "Token scopes",
        detail: `${list.join(", ") || "none"}, without repo`,
        fix: `gh auth refresh --scopes repo (${NEEDED_PERMISSIONS})`,
      },
    );
  }
  const core = (response.data as {
    resources?: { core?: { remaining?: number; limit?: number; reset?: number } };
  })
    .resources?.core;
  const remaining = core?.remaining ?? Number(headers["x-ratelimit-remaining"]);
  checks.push(
    remaining > 0
      ? {
        status: "ok",
        name: "Rate limit",
        detail: `${remaining} of ${core?.limit ?? "?"} left this hour`,
      }
      : {
        status: "fail",
        name: "Rate limit",
        detail: `none left until ${new Date((core?.reset ?? 0) * 1000).toISOString()}`,
        fix: "wait for the reset, or use a GitHub App (higher limits)",
      },
  );
  const serverDate = Date.parse(headers["date"] ?? "");
  if (!Number.isNaN(serverDate)) {
    const skew = Math.round((Date.now() - serverDate) / 1000);
    checks.push(
      Math.abs(skew) <= MAX_SKEW_S
        ? { status: "ok", name: "Clock", detail: `within ${MAX_SKEW_S} s of GitHub's` }
        : {
          status: "fail",
          name: "Clock",
          detail: `${Math.abs(skew)} s ${skew > 0 ? "ahead of" : "behind"} GitHub's`,
          fix: "enable time synchronisation (timedatectl set-ntp true)",
        },
    );
  }
  return checks;
}

/** Whether the service unit is installed (user or system) and active. */
async function serviceCheck(deps: Deps): Promise<Check> {
  for (const scope of ["system", "user"] as const) {
    let unit: string;
    try {
      unit = servicePaths(scope, deps.env).unit;
      await Deno.stat(unit);
    } catch {
      continue;
    }
    const flags = scope === "user" ? ["--user"] : [];
    const result = toolResult(
      "systemctl",
      await deps.run("systemctl", [...flags, "is-active", UNIT_NAME], { timeoutMs: 10_000 }),
    );
    const state = result.ok ? "active" : result.reason;
    return result.ok
      ? { status: "ok", name: "Service", detail: `${scope} unit ${unit} is active` }
      : {
        status: "warn",
        name: "Service",
        detail: `${scope} unit ${unit} is not active (${state})`,
        fix: `autoscaler service start${scope === "system" ? " --system" : ""}; ` +
          `see autoscaler service logs${scope === "system" ? " --system" : ""}`,
      };
  }
  return {
    status: "info",
    name: "Service",
    detail: "not installed",
    fix: "autoscaler install-service --user (or --system as root)",
  };
}
