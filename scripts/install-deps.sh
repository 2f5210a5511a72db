#!/usr/bin/env bash
# Installs what ductwatch needs to build, test and run on Debian 12.
# Run as root (or with sudo). When every package is already installed
# (dpkg-query says so) it does nothing: no apt-get update, no network, no
# root needed. Otherwise it runs apt-get update, then installs the missing
# ones.
#   --build   only what building and running needs (scripts/main.sh);
#             the default is everything, tests included (scripts/test.sh)
# chromium renders `ductwatch report` pages in the report tests; clang,
# libclang-rt and valgrind are for the fuzz and memcheck runs; libczmq-dev
# writes the certificates of the security-zcert test (only it).
# chromium-driver and python3-selenium drive the web page in tests/web;
# libmicrohttpd-dev is ductwatch-web's HTTP library (so a build needs it);
# openssl makes the certificates of the TLS tests (web-api's tls case, nats-tls);
# strace kills a program at a chosen system call in the fleet kill tests.
# libnats-dev is ductwatch-bridge's NATS client (the bridge is built where it
# is found); nats-server is the real JetStream server tests/nats starts.
set -euo pipefail

PKGS=(
  gcc pkg-config meson ninja-build
  libserialport-dev libzmq3-dev libhdf5-dev hdf5-tools libcmocka-dev
  libinih-dev libcjson-dev scdoc libmicrohttpd-dev libnats-dev
  python3 python3-h5py python3-zmq python3-numpy
  procps util-linux
)
TEST_PKGS=(
  chromium chromium-driver python3-selenium libczmq-dev openssl
  clang libclang-rt-14-dev valgrind nats-server strace
)
if [ "${1:-}" != "--build" ]; then
  PKGS+=("${TEST_PKGS[@]}")
fi

missing=()
for p in "${PKGS[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  if [ "$status" != "installed" ]; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages are installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"

SUDO=
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
