#!/usr/bin/env bash
# Install every build and test dependency of lifecast from Debian 12 packages.
# Idempotent: packages already present are skipped, so `make` may call it freely.
set -euo pipefail

PKGS=(
  # build
  build-essential pkg-config clang-14 llvm-14 libclang-rt-14-dev libfuzzer-14-dev
  # libraries
  libdpdk-dev dpdk libnuma-dev libhyperscan-dev libcunit1-dev libssl-dev
  libuv1-dev libjansson-dev libwslay-dev libpcap-dev
  # runtime and test peers
  iproute2 iputils-ping ethtool tcpdump procps psmisc netcat-openbsd
  ffmpeg rtmpdump flvmeta nginx-light libnginx-mod-rtmp ngircd ii
  python3 python3-websockets lua5.4
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
