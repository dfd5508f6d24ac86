import { UsageError } from "../core/errors.ts";

/**
 * The web address runners register against (`config.sh --url`): `https://github.com` for
 * api.github.com, `https://host` for GitHub Enterprise Server's `https://host/api/v3`, else the
 * API base itself (the simulator serves both).
 */
export function serverUrl(apiBase: string): string {
  if (apiBase === "https://api.github.com") return "https://github.com";
  return apiBase.replace(/\/api\/v3$/, "");
}

/**
 * The REST API base: `--api-url` or `GITHUB_API_URL` if given, else `https://<GH_HOST>/api/v3`
 * for GitHub Enterprise Server, else `https://api.github.com`. Plain http only to loopback, so
 * a token never crosses a network in the clear.
 */
export function apiBaseUrl(flag: string | undefined, env: (name: string) => string | undefined) {
  const explicit = flag ?? env("GITHUB_API_URL");
  const origin = flag !== undefined ? "--api-url" : "GITHUB_API_URL";
  if (explicit !== undefined && explicit.trim() !== "") {
    let url: URL;
    try {
      url = new URL(explicit.trim());
    } catch {
      throw new UsageError(`Invalid ${origin} "${explicit}": not a URL`);
    }
    const loopback = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/.test(url.hostname);
    if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
      throw new UsageError(
        `Invalid ${origin} "${explicit}": use https (plain http only to localhost or 127.0.0.1)`,
      );
    }
    return url.href.replace(/\/+$/, "");
  }
  const host = env("GH_HOST")?.trim().toLowerCase();
  if (host && host !== "github.com") return `https://${host}/api/v3`;
  return "https://api.github.com";
}
