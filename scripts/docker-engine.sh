#!/usr/bin/env bash
# Makes sure a Docker engine answers: installs Debian's docker.io when dockerd is missing, starts dockerd in the
# background when none runs, waits for `docker info`. Idempotent; needs root (or sudo) only when it must act.
set -euo pipefail
if docker info >/dev/null 2>&1; then echo "docker engine: running ($(docker info --format '{{.ServerVersion}}'))"; exit 0; fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v dockerd >/dev/null 2>&1; then
  echo "docker engine: installing Debian's docker.io ..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq docker.io >/dev/null
fi
echo "docker engine: starting dockerd (log: /tmp/dockerd.log)"
$SUDO sh -c 'nohup dockerd > /tmp/dockerd.log 2>&1 &'
for _ in $(seq 90); do docker info >/dev/null 2>&1 && break; sleep 1; done
if ! docker info >/dev/null 2>&1; then echo "docker engine: dockerd did not come up; its log:"; tail -30 /tmp/dockerd.log; exit 1; fi
echo "docker engine: running ($(docker info --format '{{.ServerVersion}}'))"
