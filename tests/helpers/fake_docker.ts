/**
 * A fake `docker` with one running container of ours, `runnerName` in `acme/api`, made 10 minutes
 * ago (`labels` adds or replaces container labels); `rm` and `run` are appended to `calls`, and
 * `run` prints a container id.
 */
export function dockerWithOneRunner(
  runnerName: string,
  calls: string,
  labels: Record<string, string> = {},
): string {
  const created = new Date(Date.now() - 600_000).toISOString();
  const all = {
    "io.github-autoscaler.managed-by": "github-autoscaler",
    "io.github-autoscaler.runner-name": runnerName,
    "io.github-autoscaler.scope": "acme/api",
    "io.github-autoscaler.repo": "acme/api",
    "io.github-autoscaler.kind": "cpu",
    "io.github-autoscaler.labels": RUNNER_LABELS.join(","),
    "io.github-autoscaler.created": created,
    ...Object.fromEntries(
      Object.entries(labels).map(([key, value]) => [`io.github-autoscaler.${key}`, value]),
    ),
  };
  const inspect = JSON.stringify([{
    Id: "c0ffee",
    Created: created,
    State: { Status: "running", ExitCode: 0 },
    Config: { Labels: all },
  }]);
  return `case "$1" in
  ps) echo c0ffee ;;
  inspect) cat <<'JSON'
${inspect}
JSON
  ;;
  image) exit 0 ;;
  run) echo run >> '${calls}'; echo beef ;;
  rm) echo rm >> '${calls}' ;;
  volume) exit 0 ;;
  system) echo '[]' ;;
  *) echo 20.10.24 ;;
esac`;
}

/** The labels of a CPU runner of an x64 fixture host. */
export const RUNNER_LABELS = ["self-hosted", "linux", "x64", "cpu-only"];
