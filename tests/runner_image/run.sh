#!/bin/sh
# Stand-in for the GitHub Actions runner's run.sh in the test image (busybox only). Like the real
# runner it reads its just-in-time config from ACTIONS_RUNNER_INPUT_JITCONFIG (or what config.sh
# wrote), takes one job and exits; it speaks the simulator's small protocol instead of GitHub's.
set -eu
if [ -n "${ACTIONS_RUNNER_INPUT_JITCONFIG:-}" ]; then
  config=$(printf '%s' "$ACTIONS_RUNNER_INPUT_JITCONFIG" | base64 -d)
  unset ACTIONS_RUNNER_INPUT_JITCONFIG
else
  # Configured by config.sh with a registration token.
  config=$(cat /tmp/.runner)
fi
field() { printf '%s\n' "$config" | sed -n "s/^$1=//p"; }
url=$(field url)
id=$(field runner_id)
secret=$(field secret)
boot=$(field boot)
# The secret goes in a file, never on a command line, which every user can read in /proc.
umask 077
printf '%s' "$secret" >/tmp/runner-secret
call() {
  wget -q -O - --post-file /tmp/runner-secret "$url/_simulator/runners/$id/$1"
}
# GitHub's runner takes seconds to boot before it connects; the simulator says how many.
sleep "${boot:-0}"
echo "runner $id: connecting to $url as uid $(id -u)"
call connect >/dev/null
# Each call waits up to a second for a job, as the runner's long poll of GitHub's broker does.
while :; do
  answer=$(call acquire)
  case "$answer" in
    job*) break ;;
  esac
done
set -- $answer
echo "runner $id: running job $2 for $3 s"
sleep "$3"
call complete >/dev/null
echo "runner $id: job $2 done"
