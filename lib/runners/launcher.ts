/**
 * What runs first in a runner container: it waits for the runner's settings, which the daemon
 * writes over `docker exec`'s standard input into a tmpfs only the runner user can read, takes
 * them into its environment, deletes the file and starts the runner. So the JIT config or the
 * registration token is in neither the container's configuration (`docker inspect`) nor PID 1's
 * environment; with a registration token, `config.sh` spends it and it is dropped before
 * `run.sh` starts, so no process that runs the job holds it.
 */

/** The tmpfs the settings arrive in (mode 0700, the runner user's). */
export const SETTINGS_DIR = "/run/autoscaler";

/** How the runner registers: a JIT config, or `config.sh` with a registration token. */
export type LaunchMode = "jit" | "config";

/** How long the launcher waits for its settings before it gives up (exit 70). */
const WAIT_TENTHS = 1200;

/** How long a `docker` profile runner's own engine may take to start, in seconds. */
const ENGINE_WAIT_S = 60;

/**
 * The container's command: `sh -c <launcher>`. With `ownEngine` (the `docker` profile) it runs
 * as root: it starts the runner's own Docker engine, then the runner as uid 1001 with its
 * groups (`setpriv`, util-linux).
 */
export function launcherCommand(mode: LaunchMode, ownEngine = false): string[] {
  const as = ownEngine
    ? "/usr/bin/setpriv --reuid=1001 --regid=1001 --init-groups env HOME=/home/runner "
    : "";
  const start = mode === "jit"
    ? `exec ${as}./run.sh`
    : `${as}./config.sh --unattended --ephemeral --disableupdate\n` +
      `unset ACTIONS_RUNNER_INPUT_TOKEN\nexec ${as}./run.sh`;
  const engine = ownEngine
    ? `dockerd >/var/log/dockerd.log 2>&1 &
i=0
until docker info >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -gt ${ENGINE_WAIT_S * 10} ]; then
    echo "autoscaler: the runner's own Docker engine did not start within ${ENGINE_WAIT_S} s" >&2
    tail -n 20 /var/log/dockerd.log >&2
    exit 71
  fi
  sleep 0.1
done
# The engine's store is the repository's cache: images and build cache stay for the next job;
# what a job left besides (containers, restarted ones too, networks, volumes, a swarm) does not.
docker ps --all --quiet | xargs -r docker rm --force >/dev/null ||
  echo "autoscaler: could not remove the containers a job left in the runner's engine" >&2
docker network prune --force >/dev/null ||
  echo "autoscaler: could not remove the networks a job left in the runner's engine" >&2
docker volume prune --all --force >/dev/null ||
  echo "autoscaler: could not remove the volumes a job left in the runner's engine" >&2
docker swarm leave --force >/dev/null 2>&1 || true
`
    : "";
  return [
    "sh",
    "-c",
    `set -eu
${engine}settings=${SETTINGS_DIR}/settings
i=0
until [ -f "$settings" ]; do
  i=$((i + 1))
  if [ "$i" -gt ${WAIT_TENTHS} ]; then
    echo "autoscaler: no runner settings arrived within ${WAIT_TENTHS / 10} s" >&2
    exit 70
  fi
  sleep 0.1
done
set -a
. "$settings"
set +a
rm -f "$settings"
cd /home/runner
${start}`,
  ];
}

/** The settings file: one `NAME='value'` line per variable, for the launcher's `.`. */
export function settingsFile(env: Record<string, string>): string {
  return Object.entries(env).map(([name, value]) => {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new Error(`Not a variable name: ${name}`);
    return `${name}='${value.replaceAll("'", `'"'"'`)}'\n`;
  }).join("");
}

/** The command `docker exec --interactive` runs to write the settings file atomically. */
export const WRITE_SETTINGS = [
  "sh",
  "-c",
  `umask 077 && cat > ${SETTINGS_DIR}/settings.part && ` +
  `mv ${SETTINGS_DIR}/settings.part ${SETTINGS_DIR}/settings`,
];
