#!/usr/bin/env bash
# Installs what the end-to-end test needs that npm cannot provide: Debian's
# Chromium (playwright's own browser download does not work here, and
# playwright-core drives the system browser instead). Safe to run repeatedly.
#
# Usage (from anywhere): bash frontend-docker/tests/e2e-setup.sh
# The test also needs the backend's virtualenv: run backend-docker/tests/run.sh.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "e2e-setup: chromium already installed at $CHROMIUM"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
echo "e2e-setup: installing Debian's chromium"
# Try with the package lists we have; refresh them only if that fails
# (fresh machines and containers often have none).
if ! $SUDO apt-get install -y chromium; then
  $SUDO apt-get update
  $SUDO apt-get install -y chromium
fi

if [ ! -x "$CHROMIUM" ]; then
  echo "e2e-setup: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi
echo "e2e-setup: chromium installed at $CHROMIUM"
