#!/usr/bin/env bash
# Installs what the "images" vitest project needs to build and start the real
# Dockerfiles without a Docker engine: buildah (daemonless, vfs storage, chroot
# isolation) and debootstrap (stand-in base images). Idempotent: a machine that
# has both does nothing. Needs root (CI and these machines run as root).
# Called by .ci/run before `vitest run --project images`.
set -euo pipefail

missing=()
command -v buildah >/dev/null 2>&1 || missing+=(buildah)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -eq 0 ]; then
  echo "images setup: buildah $(buildah --version | awk '{print $3}') and debootstrap present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "images setup: need root to install ${missing[*]} (apt-get)" >&2
  exit 1
fi
echo "images setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends: no podman, no networking plugins; chroot isolation
# with the host network needs neither.
apt-get install -y -qq --no-install-recommends "${missing[@]}" ca-certificates >/dev/null
echo "images setup: buildah $(buildah --version | awk '{print $3}'), debootstrap $(dpkg-query -W -f='${Version}' debootstrap)"
