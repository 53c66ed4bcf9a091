#!/usr/bin/env bash
# Hardware-in-the-loop harness: run a command inside a QEMU guest that boots
# Debian's kernel, with dummy_hcd providing a real Linux USB host stack and two
# virtual devices (gadget zero and the FunctionFS device in ffs-device/).
#
#   test/hil/run.sh -- <command...>
#
# The guest runs the host's own userland (/ shared read-only over 9p, with a
# tmpfs overlay), with the repository as working directory. The exit code is
# the command's; 77 means "skipped" (cannot install or fetch what is needed),
# 124 the run timed out, 125 the guest failed before or around the command.
# See test/hil/README.md.
set -euo pipefail
# The whole script is one compound command, read before it runs: editing the
# file during a run cannot change what the run executes.
{

HIL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HIL_DIR/../.." && pwd)
CACHE=${DEXTIO_HIL_CACHE:-$HIL_DIR/.cache}
TIMEOUT=${DEXTIO_HIL_TIMEOUT:-900}
MEM=${DEXTIO_HIL_MEM:-1024}
SMP=${DEXTIO_HIL_SMP:-2}
# The emulated CPU model.
CPU=${DEXTIO_HIL_CPU:-max}
# One host thread runs every vCPU in turn (TCG's round-robin mode). With a thread per vCPU
# (QEMU 7.2's multi-threaded TCG, its default here), node in the guest died with SIGSEGV in about
# one run in four while loading modules, with no fault in the guest kernel's log; with one thread
# (or one vCPU) it never did. The guest still has $SMP CPUs, so its threads still interleave.
TCG_THREAD=${DEXTIO_HIL_TCG_THREAD:-single}
VERBOSE=${DEXTIO_HIL_VERBOSE:-0}

log() { echo "hil: $*" >&2; }
skip() { echo "hil: SKIP: $*" >&2; exit 77; }
die() { echo "hil: error: $*" >&2; exit 125; }
now_ms() { date +%s%3N; }

usage() {
  cat >&2 <<'EOF'
usage: test/hil/run.sh [--prepare] -- <command...>
  Runs <command> inside a QEMU guest with gadget zero and the dextio
  FunctionFS test device attached to the guest's USB stack (dummy_hcd).
  --prepare   only install/fetch/build what a run needs, then exit.
Environment: DEXTIO_HIL_TIMEOUT (s, default 900), DEXTIO_HIL_KERNEL_DEB,
  DEXTIO_HIL_UDEV (1/0), DEXTIO_HIL_VERBOSE, DEXTIO_HIL_PASS_ENV, ... (README.md)
EOF
}

PREPARE_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; break ;;
    --prepare) PREPARE_ONLY=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage; exit 2 ;;
  esac
done
if [ "$PREPARE_ONLY" = 0 ] && [ $# -eq 0 ]; then usage; exit 2; fi

T_START=$(now_ms)

# ---------------------------------------------------------------------------
# Host packages
# ---------------------------------------------------------------------------
APT_UPDATED=0
apt_update_once() {
  [ "$APT_UPDATED" = 1 ] && return 0
  apt-get update -qq >/dev/null 2>&1 || return 1
  APT_UPDATED=1
}

need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || need_pkgs+=(busybox-static)
{ command -v depmod && command -v modprobe; } >/dev/null 2>&1 || need_pkgs+=(kmod)
command -v xz >/dev/null || need_pkgs+=(xz-utils)
command -v gcc >/dev/null || need_pkgs+=(gcc libc6-dev)
command -v flock >/dev/null || need_pkgs+=(util-linux)
command -v dpkg-deb >/dev/null || skip "not a Debian-like host (no dpkg-deb)"
if [ ${#need_pkgs[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || skip "missing packages (${need_pkgs[*]}) and not root to install them"
  command -v apt-get >/dev/null || skip "missing packages (${need_pkgs[*]}) and no apt-get"
  log "installing ${need_pkgs[*]}"
  apt_update_once || skip "apt-get update failed (no network?); needed: ${need_pkgs[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null \
    || skip "apt-get install ${need_pkgs[*]} failed"
fi
[ "$(id -u)" = 0 ] || skip "the guest shares the host's / as root and needs root to start (run as root)"

mkdir -p "$CACHE"/{debs,kernel,bin,runs}
exec 9>"$CACHE/.lock"
flock 9   # cache preparation is serialised; released before boot

# ---------------------------------------------------------------------------
# Kernel: resolve, fetch, unpack, depmod, vmlinux
# ---------------------------------------------------------------------------
kernel_deb=""
if [ -n "${DEXTIO_HIL_KERNEL_DEB:-}" ]; then
  [ -f "$DEXTIO_HIL_KERNEL_DEB" ] || die "DEXTIO_HIL_KERNEL_DEB=$DEXTIO_HIL_KERNEL_DEB does not exist"
  kernel_deb=$DEXTIO_HIL_KERNEL_DEB
  kpkg=$(dpkg-deb -f "$kernel_deb" Package)
else
  resolve_kpkg() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -1; }
  kpkg=$(resolve_kpkg || true)
  if [ -z "$kpkg" ] && apt_update_once; then kpkg=$(resolve_kpkg || true); fi
  if [ -z "$kpkg" ]; then
    # No package lists: fall back to a kernel already prepared in the cache.
    kpkg=$(cat "$CACHE/kernel/last" 2>/dev/null || true)
    [ -n "$kpkg" ] || skip "cannot resolve linux-image-amd64 (apt-cache/apt-get update failed) and no cached kernel"
    log "using cached $kpkg (could not resolve the current kernel package)"
  fi
fi
KVER=${kpkg#linux-image-}
KROOT=$CACHE/kernel/$KVER
KDIR=$KROOT/root
if [ ! -f "$KROOT/.ok" ]; then
  t0=$(now_ms)
  if [ -z "$kernel_deb" ]; then
    kernel_deb=$(ls "$CACHE"/debs/"${kpkg}"_*.deb 2>/dev/null | head -1 || true)
    if [ -z "$kernel_deb" ]; then
      log "downloading $kpkg"
      ( cd "$CACHE/debs" && apt-get download "$kpkg" >/dev/null 2>&1 ) \
        || { apt_update_once && ( cd "$CACHE/debs" && apt-get download "$kpkg" >/dev/null 2>&1 ); } \
        || true
      kernel_deb=$(ls "$CACHE"/debs/"${kpkg}"_*.deb 2>/dev/null | head -1 || true)
    fi
  fi
  if [ -z "$kernel_deb" ]; then
    # Offline: use the last kernel prepared in the cache, if any.
    last=$(cat "$CACHE/kernel/last" 2>/dev/null || true)
    [ -n "$last" ] && [ -f "$CACHE/kernel/${last#linux-image-}/.ok" ] \
      || skip "cannot download $kpkg (no network?); set DEXTIO_HIL_KERNEL_DEB to a cached .deb"
    log "cannot download $kpkg: using the cached $last"
    kpkg=$last KVER=${last#linux-image-}
    KROOT=$CACHE/kernel/$KVER KDIR=$CACHE/kernel/$KVER/root
  fi
fi
if [ ! -f "$KROOT/.ok" ]; then
  log "unpacking $(basename "$kernel_deb")"
  rm -rf "$KROOT"; mkdir -p "$KROOT"
  dpkg-deb -x "$kernel_deb" "$KDIR"
  depmod -b "$KDIR" "$KVER"
  vmlinuz=$KDIR/boot/vmlinuz-$KVER
  off=$(set +o pipefail; LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -1 | cut -d: -f1)
  [ -n "$off" ] || die "no xz payload in $vmlinuz"
  ( set +o pipefail; tail -c +$((off + 1)) "$vmlinuz" | xz -dc 2>/dev/null > "$KROOT/vmlinux" ) || true
  [ "$(head -c 4 "$KROOT/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] || die "vmlinux extraction failed"
  # Keep only what the guest needs: modules and vmlinux (vmlinuz, System.map go).
  rm -f "$KDIR"/boot/vmlinuz-* "$KDIR"/boot/System.map-*
  touch "$KROOT/.ok"
  # Debian replaced the kernel package: drop the older ones.
  for d in "$CACHE"/kernel/*/; do [ "$d" = "$KROOT/" ] || rm -rf "$d"; done
  find "$CACHE/debs" -name 'linux-image-*.deb' ! -name "${kpkg}_*" -delete
  log "kernel $KVER ready in $(( $(now_ms) - t0 )) ms"
fi
echo "$kpkg" > "$CACHE/kernel/last"
for m in dummy_hcd usb_f_ss_lb usb_f_fs; do
  modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" >/dev/null 2>&1 || die "kernel $KVER lacks module $m"
done

# ---------------------------------------------------------------------------
# initramfs: static busybox as /init, modules for 9p + overlay
# ---------------------------------------------------------------------------
initmods=()
# Everything the guest needs is loaded from the initramfs (no modprobe over 9p).
for m in virtio_pci 9pnet_virtio 9p overlay configfs dummy_hcd libcomposite usb_f_ss_lb usb_f_fs; do
  while read -r _ path _; do
    [[ " ${initmods[*]} " == *" $path "* ]] || initmods+=("$path")
  done < <(modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" | grep '^insmod ')
done
initrd_key=$( { echo "$KVER"; printf '%s\n' "${initmods[@]}"; sha256sum /bin/busybox "$HIL_DIR/guest/init.sh"; } | sha256sum | cut -c1-16)
INITRD=$CACHE/initramfs-$initrd_key.cgz
if [ ! -f "$INITRD" ]; then
  t0=$(now_ms)
  tmp=$(mktemp -d "$CACHE/initramfs.XXXXXX")
  mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,lib/modules,lower,rw,newroot}
  cp /bin/busybox "$tmp/bin/busybox"
  cp "$HIL_DIR/guest/init.sh" "$tmp/init"; chmod 755 "$tmp/init"
  : > "$tmp/modules.list"
  for p in "${initmods[@]}"; do
    cp "$p" "$tmp/lib/modules/"; basename "$p" >> "$tmp/modules.list"
  done
  ( cd "$tmp" && find . | LC_ALL=C sort | busybox cpio -o -H newc 2>/dev/null | gzip -1 ) > "$INITRD.tmp"
  mv "$INITRD.tmp" "$INITRD"
  rm -rf "$tmp"
  find "$CACHE" -maxdepth 1 -name 'initramfs-*.cgz' ! -name "$(basename "$INITRD")" -delete
  log "initramfs built in $(( $(now_ms) - t0 )) ms"
fi

# ---------------------------------------------------------------------------
# FunctionFS device program (host gcc; the guest runs the host's userland)
# ---------------------------------------------------------------------------
FFS_BIN=$CACHE/bin/ffs-echo
FFS_SRC=$HIL_DIR/ffs-device/ffs-echo.c
if [ ! -x "$FFS_BIN" ] || [ "$FFS_SRC" -nt "$FFS_BIN" ]; then
  gcc -O2 -Wall -Wextra -pthread -o "$FFS_BIN.tmp" "$FFS_SRC" || die "building $FFS_SRC failed"
  mv "$FFS_BIN.tmp" "$FFS_BIN"
fi

# ---------------------------------------------------------------------------
# udev (optional): lets libusb built with udev (npm usb 2.x prebuilds) see
# hotplug events in the guest. Unpacked, never installed on the host.
# ---------------------------------------------------------------------------
UDEVD=""
if [ "${DEXTIO_HIL_UDEV:-1}" = 1 ]; then
  if [ -x "$CACHE/udev/systemd-udevd" ]; then
    UDEVD=$CACHE/udev/systemd-udevd
  else
    udeb=${DEXTIO_HIL_UDEV_DEB:-$(ls "$CACHE"/debs/udev_*.deb 2>/dev/null | head -1 || true)}
    if [ -z "$udeb" ]; then
      ( cd "$CACHE/debs" && apt-get download udev >/dev/null 2>&1 ) || true
      udeb=$(ls "$CACHE"/debs/udev_*.deb 2>/dev/null | head -1 || true)
    fi
    if [ -n "$udeb" ]; then
      rm -rf "$CACHE/udev"; mkdir -p "$CACHE/udev"
      dpkg-deb -x "$udeb" "$CACHE/udev/root"
      # udevadm is multi-call: it runs as the daemon when invoked as systemd-udevd.
      ln -sf root/bin/udevadm "$CACHE/udev/systemd-udevd"
      UDEVD=$CACHE/udev/systemd-udevd
    else
      log "udev package unavailable: running without udevd (no hotplug events for udev-based libusb)"
    fi
  fi
fi

flock -u 9
T_PREP=$(now_ms)
[ "$VERBOSE" = 1 ] && log "prepared in $(( T_PREP - T_START )) ms (kernel $KVER)"
[ "$PREPARE_ONLY" = 1 ] && { log "prepared (kernel $KVER)"; exit 0; }

# ---------------------------------------------------------------------------
# Run directory (the guest's read-write share)
# ---------------------------------------------------------------------------
RUN=$(mktemp -d "$CACHE/runs/$(date -u +%Y%m%dT%H%M%S)-XXXX")
# keep the 10 newest run directories
ls -1dt "$CACHE"/runs/*/ 2>/dev/null | tail -n +11 | xargs -r rm -rf
mkdir -p "$RUN/artifacts"

pass_env=()
for v in PATH LANG LC_ALL TZ CI DEBUG NODE_OPTIONS FORCE_COLOR NO_COLOR ${DEXTIO_HIL_PASS_ENV:-}; do
  [ -n "${!v+x}" ] && pass_env+=("$v")
done
while IFS='=' read -r v _; do
  case "$v" in DEXTIO_*|MOCHA_*) pass_env+=("$v") ;; esac
done < <(env)
{
  echo '# written by test/hil/run.sh for one run'
  for v in "${pass_env[@]}"; do printf 'export %s=%q\n' "$v" "${!v}"; done
  printf 'export HOME=/root TERM=dumb\n'
  printf 'HIL_REPO=%q\nHIL_KDIR=%q\nHIL_KVER=%q\nHIL_FFS_BIN=%q\nHIL_UDEVD=%q\n' \
    "$REPO" "$KDIR" "$KVER" "$FFS_BIN" "$UDEVD"
  printf 'set --'; printf ' %q' "$@"; printf '\n'
  printf 'source %q\n' "$HIL_DIR/guest/stage2.sh"
} > "$RUN/boot.sh"

# ---------------------------------------------------------------------------
# Boot
# ---------------------------------------------------------------------------
qemu_pid=""
cleanup() {
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then kill "$qemu_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

append="console=ttyS0 quiet panic=-1 8250.nr_uarts=2 dummy_hcd.num=2 ${DEXTIO_HIL_KERNEL_ARGS:-}"
qemu=(qemu-system-x86_64 -accel "tcg,thread=$TCG_THREAD" -cpu "$CPU" -smp "$SMP" -m "$MEM"
  -nodefaults -no-user-config -display none -no-reboot
  -kernel "$KROOT/vmlinux" -initrd "$INITRD" -append "$append"
  -chardev "file,id=con,path=$RUN/console.log"
  -serial chardev:con
  -chardev stdio,id=out,signal=off
  -serial chardev:out
  -fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap
  -device virtio-9p-pci,fsdev=root,mount_tag=hostroot
  -fsdev "local,id=run,path=$RUN,security_model=none"
  -device virtio-9p-pci,fsdev=run,mount_tag=hilrun)

log "booting $KVER (timeout ${TIMEOUT}s): $*"
T_BOOT=$(now_ms)
set +e
timeout -k 10 "$TIMEOUT" "${qemu[@]}" </dev/null &
qemu_pid=$!
wait "$qemu_pid"
qrc=$?
set -e
qemu_pid=""
T_END=$(now_ms)

rc=""
[ -f "$RUN/rc" ] && rc=$(tr -dc 0-9 < "$RUN/rc")
show_console() {
  echo "----- guest console ($RUN/console.log) -----" >&2
  tr -d '\r' < "$RUN/console.log" >&2 || true
  echo "----- end of guest console -----" >&2
}
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
  show_console
  log "TIMEOUT after ${TIMEOUT}s (DEXTIO_HIL_TIMEOUT); run directory $RUN"
  exit 124
fi
if [ -z "$rc" ]; then
  show_console
  log "guest ended without a result (qemu exit $qrc); run directory $RUN"
  exit 125
fi
timings=$(tr "\n" " " 2>/dev/null < "$RUN/timings" || true)
if [ "$rc" != 0 ] || [ "$VERBOSE" = 1 ]; then show_console; fi
log "exit $rc; prepare $(( T_BOOT - T_START )) ms, guest $(( T_END - T_BOOT )) ms (${timings% }); run directory $RUN"
exit "$rc"
}
