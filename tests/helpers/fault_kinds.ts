import type { Fault } from "../../lib/simulator/server.ts";
import type { DockerFaultMode } from "./faulty_docker.ts";

/**
 * The faults GitHub and Docker really show, as the fault matrix and the soak inject them: one
 * catalogue, so both test the same faults.
 */

const JIT = /\/actions\/runners\/generate-jitconfig$/;
const msg = (text: string) => JSON.stringify({ message: text, documentation_url: "x" });

/** GitHub's faults, by name; those of a run list match `runs` (the repositories' run lists). */
export function githubFaults(runs: RegExp): Record<string, () => Fault> {
  return {
    "GitHub 502": () => ({ path: runs, status: 502, body: "<html>502</html>", times: 2 }),
    "GitHub hangs": () => ({ path: runs, status: 200, body: "", mode: "hang", times: 1 }),
    "connection reset": () => ({
      path: runs,
      status: 200,
      body: JSON.stringify({ total_count: 0, workflow_runs: [] }),
      mode: "reset",
      times: 1,
    }),
    "401": () => ({ path: /./, status: 401, body: msg("Bad credentials"), times: 1 }),
    "403 secondary limit": () => ({
      path: runs,
      status: 403,
      body: msg("You have exceeded a secondary rate limit."),
      headers: { "retry-after": "1" },
      times: 1,
    }),
    "429": () => ({
      path: runs,
      status: 429,
      body: msg("Too many requests"),
      headers: { "retry-after": "1" },
      times: 1,
    }),
    "malformed JSON": () => ({ path: runs, status: 200, body: '{"workflow_runs": [', times: 1 }),
    "registration 503": () => ({
      method: "POST",
      path: JIT,
      status: 503,
      body: "<html>503</html>",
      times: 1,
    }),
    "delete 422 busy": () => ({
      method: "DELETE",
      path: /\/actions\/runners\/\d+$/,
      status: 422,
      body: msg("Runner is still running a job"),
      times: 1,
    }),
  };
}

/** Docker's faults, by name: [subcommand, mode, times]. */
export const DOCKER_FAULTS: Record<string, [string, DockerFaultMode, number]> = {
  "docker run fails": ["run", "fail", 1],
  "docker run hangs": ["run", "hang", 1],
  "docker inspect fails": ["inspect", "fail", 2],
  "docker ps hangs": ["ps", "hang", 1],
  "docker rm fails": ["rm", "fail", 1],
  "settings hand-over fails": ["exec", "fail", 1],
  "settings hand-over hangs": ["exec", "hang", 1],
};
