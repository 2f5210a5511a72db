#!/usr/bin/env bash
# Installs what ductwatch needs to build, test and run on Debian 12.
# Run as root (or with sudo). Safe to run again: apt skips what is there.
# chromium renders `ductwatch report` pages in the tools-report-chromium test;
# chromium-driver and python3-selenium drive the web page in tests/web;
# libmicrohttpd-dev is ductwatch-web's HTTP library; openssl makes the TLS
# test's certificate.
set -euo pipefail

PKGS=(
  gcc pkg-config meson ninja-build
  libserialport-dev libzmq3-dev libhdf5-dev hdf5-tools libcmocka-dev
  libinih-dev libcjson-dev scdoc
  python3 python3-h5py python3-zmq python3-numpy
  procps util-linux
  chromium chromium-driver python3-selenium
  libmicrohttpd-dev openssl
  clang libclang-rt-14-dev valgrind
)

SUDO=
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${PKGS[@]}"
