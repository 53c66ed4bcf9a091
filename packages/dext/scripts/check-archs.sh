#!/bin/sh
# Checks the architectures of a Mach-O binary: check-archs.sh [--at-least] <binary> <arch>...
# Exact by default (the set `lipo -archs` prints must be the given one); with --at-least the binary
# may hold more. LIPO overrides the lipo command (the tests use a stand-in on Linux).
set -eu

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
  echo "check-archs: $binary: no such file" >&2
  exit 1
fi

found=$(${LIPO:-lipo} -archs "$binary") || {
  echo "check-archs: lipo could not read $binary" >&2
  exit 1
}
sorted() { printf '%s\n' "$@" | sort -u | tr '\n' ' ' | sed 's/ $//'; }
# Word splitting of $found is wanted here: lipo prints the architectures separated by spaces.
# shellcheck disable=SC2086
have=$(sorted $found)
want=$(sorted "$@")

missing=""
for arch in $want; do
  case " $have " in *" $arch "*) ;; *) missing="$missing $arch" ;; esac
done
extra=""
for arch in $have; do
  case " $want " in *" $arch "*) ;; *) extra="$extra $arch" ;; esac
done

if [ -n "$missing" ] || { [ "$mode" = exact ] && [ -n "$extra" ]; }; then
  echo "check-archs: $binary has [$have], expected $([ "$mode" = exact ] && echo exactly || echo at least) [$want]" >&2
  [ -n "$missing" ] && echo "  missing:$missing" >&2
  [ "$mode" = exact ] && [ -n "$extra" ] && echo "  unexpected:$extra" >&2
  exit 1
fi
echo "check-archs: $binary: $have"
