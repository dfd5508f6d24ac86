# github-autoscaler's runner image: GitHub's runner image at a pinned version (the daemon's
# default --image), plus the tools jobs commonly expect and what the docker profile's own engine
# needs.
#
#   docker build -f images/runner.Dockerfile -t autoscaler-runner:2.332.0 images/
#   autoscaler run --image autoscaler-runner:2.332.0 [--profile sudo|docker]
#
# The base (actions/runner images/Dockerfile) already has the runner user (uid 1001, groups
# sudo 27 and docker 123, passwordless sudo), /home/runner/run.sh, jq, unzip, curl, git, and
# Docker's static binaries in /usr/bin (docker, dockerd, containerd, runc, docker-init) with
# buildx. The daemon's launcher needs sh, sleep, rm and, for the docker profile, util-linux's
# setpriv: all in the base.
ARG RUNNER_VERSION=2.332.0
FROM ghcr.io/actions/actions-runner:${RUNNER_VERSION}
USER root
# build-essential, zstd (actions/cache), xz-utils: what workflows expect of a GitHub-hosted
# Ubuntu runner and call without installing. iptables: the docker profile's dockerd sets up its
# container networks with it.
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    build-essential zstd xz-utils iptables \
  && rm -rf /var/lib/apt/lists/*
USER runner
