#!/bin/sh
# Make sure clang (with blocks and the sanitizer runtimes), BlocksRuntime and cmake are present.
# On Debian/Ubuntu as root they are installed; otherwise say what to install and fail.
set -eu

missing=""
command -v clang++ >/dev/null 2>&1 || missing="$missing clang"
command -v cmake >/dev/null 2>&1 || missing="$missing cmake"
# BlocksRuntime: the header and the library the DriverKit sources' blocks need.
[ -e /usr/include/Block.h ] || missing="$missing libblocksruntime-dev"
# AddressSanitizer's runtime (test:sanitize) ships separately from clang on Debian 12.
if command -v clang++ >/dev/null 2>&1; then
  asan="$(clang++ -print-file-name=libclang_rt.asan-x86_64.a 2>/dev/null || true)"
  [ -e "$asan" ] || [ "$(uname -m)" != "x86_64" ] || missing="$missing libclang-rt-dev"
fi

[ -z "$missing" ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-toolchain: installing$missing" >&2
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang libblocksruntime-dev cmake libclang-rt-dev
  exit 0
fi

echo "ensure-toolchain: missing:$missing" >&2
echo "install them, e.g.: sudo apt-get install -y --no-install-recommends clang libblocksruntime-dev cmake libclang-rt-dev" >&2
exit 1
