#!/bin/sh
# Checks the architectures of a Mach-O binary:
#   check-archs.sh [--at-least] <binary> <arch>...
# By default the set `lipo -archs` prints must be exactly the given one (in any order); with
# --at-least the binary must hold the given architectures and may hold more. Exits 1 on a mismatch,
# a missing binary or one lipo cannot read, 2 on a usage error. LIPO overrides the lipo command (the
# tests use a stand-in on Linux).
set -eu
# Architecture names are split on whitespace below, never expanded as globs.
set -f

mode=exact
if [ "${1:-}" = "--at-least" ]; then
  mode=at-least
  shift
fi
if [ "$#" -lt 2 ]; then
  echo "usage: check-archs.sh [--at-least] <binary> <arch>..." >&2
  exit 2
fi
binary=$1
shift
if [ ! -f "$binary" ]; then
  echo "check-archs: $binary: no such file (expected $*)" >&2
  exit 1
fi

found=$(${LIPO:-lipo} -archs "$binary") || {
  echo "check-archs: $binary: lipo could not read its architectures (expected $*)" >&2
  exit 1
}
# One line, sorted, without duplicates: "arm64e x86_64".
sorted() { printf '%s\n' "$@" | sort -u | tr '\n' ' ' | sed 's/^ *//; s/ *$//'; }
# lipo prints the architectures separated by spaces: split them.
# shellcheck disable=SC2086
have=$(sorted $found)
want=$(sorted "$@")

missing=""
for arch in $want; do
  case " $have " in *" $arch "*) ;; *) missing="$missing $arch" ;; esac
done
extra=""
if [ "$mode" = exact ]; then
  for arch in $have; do
    case " $want " in *" $arch "*) ;; *) extra="$extra $arch" ;; esac
  done
fi

if [ -n "$missing" ] || [ -n "$extra" ]; then
  if [ "$mode" = exact ]; then expected="exactly"; else expected="at least"; fi
  echo "check-archs: $binary has [$have], expected $expected [$want]" >&2
  if [ -n "$missing" ]; then echo "  missing:$missing" >&2; fi
  if [ -n "$extra" ]; then echo "  unexpected:$extra" >&2; fi
  exit 1
fi
echo "check-archs: $binary: [$have] ok"
