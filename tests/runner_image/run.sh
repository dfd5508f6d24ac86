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
report=
if [ -n "${4:-}" ]; then
  # The job sets up a tool, as actions/setup-* does: from the tool cache when it is there whole
  # (without one, in the runner's own folder; the stand-in's home is root's).
  dir="${RUNNER_TOOL_CACHE:-/tmp/_work/_tool}/sim-tool/1.0.0/x64"
  if [ -f "$dir.complete" ]; then
    digest=$(sha256sum "$dir/tool.bin" | cut -d ' ' -f 1)
    if [ "$digest" = "$4" ]; then report=cache=hit; else report=cache=corrupt; fi
  else
    report=cache=miss
    mkdir -p "$dir"
    wget -q -O "$dir/tool.bin" "$url/_simulator/tool"
    touch "$dir.complete"
  fi
  echo "runner $id: tool cache $report"
fi
echo "runner $id: running job $2 for $3 s"
sleep "$3"
printf '%s\n%s\n' "$secret" "$report" >/tmp/runner-report
wget -q -O - --post-file /tmp/runner-report "$url/_simulator/runners/$id/complete" >/dev/null
echo "runner $id: job $2 done"
