#!/bin/sh
# Stand-in for the GitHub Actions runner's config.sh in the test image, for hosts without
# just-in-time registration: registers this runner with the registration token. Like the real
# one it takes its settings from ACTIONS_RUNNER_INPUT_* variables, so the token is never on a
# command line; it speaks the simulator's small protocol instead of GitHub's.
set -eu
umask 077
printf '%s\n%s\n%s\n' "${ACTIONS_RUNNER_INPUT_TOKEN:?no registration token}" \
  "${ACTIONS_RUNNER_INPUT_NAME:?no runner name}" "${ACTIONS_RUNNER_INPUT_LABELS:-}" \
  >/tmp/registration
server=$(printf '%s' "${ACTIONS_RUNNER_INPUT_URL:?no url}" | sed -E 's#^(https?://[^/]+).*#\1#')
answer=$(wget -q -O - --post-file /tmp/registration "$server/_simulator/register")
rm -f /tmp/registration
printf 'url=%s\n%s\n' "$server" "$answer" >/tmp/.runner
echo "configured runner $ACTIONS_RUNNER_INPUT_NAME (--unattended --ephemeral)"
