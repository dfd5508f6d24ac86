/**
 * The token is missing, rejected (401) or lacks a permission (403 that is not a rate limit):
 * nothing works until a person fixes it, so it stops `plan` and is logged once per daemon cycle.
 */
export class AuthError extends Error {
  /**
   * `token`: no token, or GitHub rejects it (401), so nothing works; `request`: the token may not
   * make this one request (403), a problem of that repository or scope alone.
   */
  constructor(
    message: string,
    options?: ErrorOptions,
    readonly reach: "token" | "request" = "token",
  ) {
    super(message, options);
    this.name = "AuthError";
  }
}

/** The permissions the autoscaler needs, for error messages. */
export const NEEDED_PERMISSIONS =
  "a classic token needs the repo scope (and admin:org for org runners); a fine-grained token " +
  "or GitHub App needs Actions: read and Administration: read and write";

/** Answer headers as Octokit gives them. */
type Headers = Record<string, string | number | undefined>;

/** The parts of an Octokit `RequestError` we look at. */
interface HttpError {
  status: number;
  message: string;
  response?: { headers?: Headers };
  request?: { method?: string; url?: string };
}

/** Whether an error is an HTTP error answer from GitHub. */
export function isHttpError(error: unknown): error is HttpError & Error {
  return error instanceof Error && typeof (error as Partial<HttpError>).status === "number";
}

/** Whether a 403/429 is a rate limit rather than a missing permission. */
export function isRateLimited(error: HttpError): boolean {
  const headers = error.response?.headers ?? {};
  return (error.status === 403 || error.status === 429) &&
    (String(headers["x-ratelimit-remaining"]) === "0" || headers["retry-after"] !== undefined ||
      isSecondaryLimit(error));
}

/**
 * A secondary-limit answer, told by GitHub's words: it can come as a 403 with requests left and
 * no `retry-after`, and then GitHub asks for a wait of at least a minute.
 */
export function isSecondaryLimit(error: HttpError): boolean {
  return (error.status === 403 || error.status === 429) &&
    /secondary rate limit|abuse detection/i.test(error.message);
}

/**
 * The status and headers of an answer, whether Octokit returned it or threw it (non-2xx, and
 * 304); status 0 for a request that got no answer.
 */
export function answerOf(outcome: unknown): { status: number; headers: Headers } {
  if (isHttpError(outcome)) {
    return { status: outcome.status, headers: outcome.response?.headers ?? {} };
  }
  const answer = outcome as { status?: number; headers?: Headers } | null;
  return { status: answer?.status ?? 0, headers: answer?.headers ?? {} };
}

/** A numeric header (`x-ratelimit-remaining`), or null when absent or not a number. */
export function headerNumber(headers: Headers, name: string): number | null {
  const value = headers[name];
  const n = Number(value);
  return value === undefined || value === "" || !Number.isFinite(n) ? null : n;
}

/** `GET /repos/o/r/actions/runs` for an error, without the host and query. */
export function describeRequest(error: HttpError): string {
  const method = error.request?.method ?? "GET";
  const url = error.request?.url ?? "";
  try {
    return `${method} ${new URL(url).pathname}`;
  } catch {
    return `${method} ${url}`;
  }
}

/** Turns 401 and permission 403 answers into an `AuthError` with the fix; others pass through. */
export function authErrorFor(error: unknown): AuthError | null {
  if (!isHttpError(error)) return null;
  if (error.status === 401) {
    return new AuthError(
      "GitHub rejected the token (401 Bad credentials): run `gh auth login` again or set a valid " +
        "GH_TOKEN",
      { cause: error },
    );
  }
  if (error.status === 403 && !isRateLimited(error)) {
    return new AuthError(
      `The token may not ${describeRequest(error)} (403): ${NEEDED_PERMISSIONS}`,
      { cause: error },
      "request",
    );
  }
  return null;
}

/** One line for any error: for GitHub's answers, the request, the status and GitHub's words. */
export function describeError(error: unknown): string {
  // Octokit gives a request aborted by the stop signal status 500 and no request: its reason
  // ("Stopped by SIGTERM") says it all.
  if (isHttpError(error) && (error as Partial<HttpError>).request !== undefined) {
    // Octokit reports a request that got no answer (DNS, refused, TLS) as a 500 without response.
    if (error.response === undefined) return `${describeRequest(error)} failed: ${error.message}`;
    const said = error.message.split(" - https://")[0]?.trim();
    return `${describeRequest(error)} answered ${error.status}${said ? `: ${said}` : ""}`;
  }
  return error instanceof Error ? error.message : String(error);
}
