# Guest side of test/hil/run.sh, sourced by /hil/boot.sh (host bash, chrooted
# into the overlay of the host's /). Inputs from boot.sh: HIL_REPO, HIL_KDIR,
# HIL_KVER, HIL_FFS_BIN, HIL_UDEVD, and the command in "$@".
# Sets up the USB fixture, runs the command with its output on ttyS1 (the
# host's stdout), and writes its exit code to /hil/rc.
# The kernel modules are already loaded by the initramfs. Under TCG every exec
# of a dynamically linked program costs tens of ms, so the set-up uses bash
# builtins and the static busybox.
set -u

uptime_s() { local up _; read -r up _ < /proc/uptime; echo "$up"; }
T_USERLAND=$(uptime_s)
say() { echo "hil-guest: [$(uptime_s)] $*" > /dev/console; }
result() { echo "$1" > /hil/rc; /bin/busybox sync; exit 0; }
fail() { say "SETUP FAILED: $*"; dmesg | tail -n 60 > /dev/console; result 125; }

CMD_PATH=$PATH
/bin/busybox mount -t tmpfs -o mode=0755 tmpfs /run || fail "tmpfs /run"
/bin/busybox mkdir -p /run/hil/bb
/bin/busybox --install -s /run/hil/bb || fail "busybox --install"
export PATH=/run/hil/bb:$PATH

mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts 2>/dev/null
mkdir -p /dev/shm && mount -t tmpfs tmpfs /dev/shm
mount -t configfs configfs /sys/kernel/config || fail "configfs"
ln -sf /proc/self/fd /dev/fd 2>/dev/null
hostname dextio-hil 2>/dev/null

# Kernel module requests go through the cached kernel's tree; usbtest (which
# would bind to gadget zero's 0525:a4a0) is never loaded.
mkdir -p /run/hil/modprobe.d
echo "blacklist usbtest" > /run/hil/modprobe.d/hil.conf
echo "install usbtest /bin/false" >> /run/hil/modprobe.d/hil.conf
cat > /run/hil/modprobe <<EOM
#!/bin/sh
exec /sbin/modprobe -C /run/hil/modprobe.d -d "$HIL_KDIR" -S "$HIL_KVER" "\$@"
EOM
chmod 755 /run/hil/modprobe
echo /run/hil/modprobe > /proc/sys/kernel/modprobe
say "userland up"

# udevd first, so that a USB library started later sees hotplug events on
# udev's netlink group. No rule loads modules (the host's rules are used; the
# driver-loading rules are masked).
if [ -n "$HIL_UDEVD" ]; then
  mkdir -p /etc/udev/rules.d /run/udev
  for r in 80-drivers.rules 80-net-setup-link.rules; do ln -sf /dev/null "/etc/udev/rules.d/$r"; done
  "$HIL_UDEVD" --daemon --resolve-names=never >/dev/console 2>&1 || fail "udevd did not start"
  for ((i = 0; i < 200; i++)); do [ -S /run/udev/control ] && break; usleep 25000; done
  [ -S /run/udev/control ] || fail "udevd control socket missing"
  export DEXTIO_HIL_UDEV=1
else
  export DEXTIO_HIL_UDEV=0
fi
say "udevd: ${HIL_UDEVD:-none}"

G=/sys/kernel/config/usb_gadget
ZERO=$G/zero
FFSG=$G/dextio-ffs
ZERO_UDC=dummy_udc.0
FFS_UDC=dummy_udc.1
FFS_MNT=/dev/ffs-dextio
ZERO_ID=0525:a4a0
FFS_ID=1209:0001

# Gadget zero: SourceSink in configuration 1, Loopback in configuration 2.
mkdir -p "$ZERO" || fail "configfs gadget"
(
  cd "$ZERO" || exit 1
  echo 0x0525 > idVendor && echo 0xa4a0 > idProduct && echo 0x0100 > bcdDevice || exit 1
  mkdir -p strings/0x409
  echo "dextio" > strings/0x409/manufacturer
  echo "Gadget Zero (dextio HIL)" > strings/0x409/product
  echo "dextio-hil-zero-0001" > strings/0x409/serialnumber
  mkdir -p functions/SourceSink.0 functions/Loopback.0
  echo 1 > functions/SourceSink.0/pattern
  echo "${DEXTIO_HIL_SS_BULK_BUFLEN:-4096}" > functions/SourceSink.0/bulk_buflen
  echo 512 > functions/Loopback.0/bulk_buflen
  echo 32 > functions/Loopback.0/qlen
  mkdir -p configs/c.1/strings/0x409 configs/c.2/strings/0x409
  echo "source/sink" > configs/c.1/strings/0x409/configuration
  echo "loopback" > configs/c.2/strings/0x409/configuration
  echo 100 > configs/c.1/MaxPower; echo 100 > configs/c.2/MaxPower
  ln -s functions/SourceSink.0 configs/c.1/ || exit 1
  ln -s functions/Loopback.0 configs/c.2/ || exit 1
  echo "$ZERO_UDC" > UDC || exit 1
) || fail "gadget zero"
say "gadget zero bound"

# FunctionFS device: the program must write its descriptors before the bind.
mkdir -p "$FFSG" || fail "configfs ffs gadget"
(
  cd "$FFSG" || exit 1
  echo 0x1209 > idVendor && echo 0x0001 > idProduct && echo 0x0100 > bcdDevice || exit 1
  mkdir -p strings/0x409
  echo "dextio" > strings/0x409/manufacturer
  echo "dextio FunctionFS test device" > strings/0x409/product
  echo "dextio-hil-ffs-0001" > strings/0x409/serialnumber
  mkdir -p functions/ffs.dextio configs/c.1/strings/0x409 || exit 1
  echo "echo" > configs/c.1/strings/0x409/configuration
  echo 100 > configs/c.1/MaxPower
  ln -s functions/ffs.dextio configs/c.1/ || exit 1
) || fail "ffs gadget"
mkdir -p "$FFS_MNT"
mount -t functionfs dextio "$FFS_MNT" || fail "mount functionfs"
"$HIL_FFS_BIN" "$FFS_MNT" > /dev/console 2>&1 &
FFS_PID=$!
for ((i = 0; i < 200; i++)); do [ -e "$FFS_MNT/ep2" ] && break; kill -0 $FFS_PID 2>/dev/null || break; usleep 50000; done
[ -e "$FFS_MNT/ep2" ] || fail "ffs-echo did not write its descriptors"
echo "$FFS_UDC" > "$FFSG/UDC" || fail "bind $FFS_UDC"
say "ffs bound"

# Wait until the guest's USB host side has configured both devices.
find_dev() { # vid:pid -> sysfs dir of a configured device
  local d
  for d in /sys/bus/usb/devices/*; do
    [ -f "$d/idVendor" ] || continue
    [ "$(<"$d/idVendor"):$(<"$d/idProduct")" = "$1" ] || continue
    [ -n "$(<"$d/bConfigurationValue")" ] || continue
    echo "$d"; return 0
  done
  return 1
}
ZERO_SYSFS=""; FFS_SYSFS=""
for ((i = 0; i < 600; i++)); do
  ZERO_SYSFS=$(find_dev $ZERO_ID) && FFS_SYSFS=$(find_dev $FFS_ID) && break
  usleep 50000
done
[ -n "$ZERO_SYSFS" ] && [ -n "$FFS_SYSFS" ] || fail "devices not enumerated (zero='$ZERO_SYSFS' ffs='$FFS_SYSFS')"
say "enumerated"
[ -n "$HIL_UDEVD" ] && { SYSTEMD_IGNORE_CHROOT=1 "${HIL_UDEVD%/*}/root/bin/udevadm" settle -t 10 || say "udevadm settle failed"; }
if [ -e /sys/bus/usb/drivers/usbtest ]; then fail "usbtest is loaded"; fi
T_ENUM=$(uptime_s)

export DEXTIO_HIL=1
export DEXTIO_HIL_KERNEL=$HIL_KVER
export DEXTIO_HIL_GADGET_ZERO=$ZERO
export DEXTIO_HIL_GADGET_ZERO_UDC=$ZERO_UDC
export DEXTIO_HIL_GADGET_ZERO_ID=$ZERO_ID
export DEXTIO_HIL_GADGET_ZERO_SYSFS=$(readlink -f "$ZERO_SYSFS")
export DEXTIO_HIL_FFS_GADGET=$FFSG
export DEXTIO_HIL_FFS_UDC=$FFS_UDC
export DEXTIO_HIL_FFS_ID=$FFS_ID
export DEXTIO_HIL_FFS_SYSFS=$(readlink -f "$FFS_SYSFS")
export DEXTIO_HIL_FFS_MOUNT=$FFS_MNT
export DEXTIO_HIL_FFS_PID=$FFS_PID
export DEXTIO_HIL_ARTIFACTS=/hil/artifacts
say "fixture ready: zero=$ZERO_SYSFS ffs=$FFS_SYSFS (userland ${T_USERLAND}s, enumerated ${T_ENUM}s)"

# The command: output on ttyS1 (raw, so that nothing is rewritten).
exec 3>/dev/ttyS1 || fail "ttyS1"
stty -F /dev/ttyS1 raw -echo 2>/dev/null
export PATH=$CMD_PATH
cd "$HIL_REPO" || fail "cd $HIL_REPO"
"$@" < /dev/null >&3 2>&3
rc=$?
# closing the last descriptor of the port waits until its output has drained
exec 3>&-
T_DONE=$(uptime_s)
say "command exited with $rc"
# A process killed by a fault: the kernel's line names the instruction pointer and the mapping.
if [ "$rc" -gt 128 ]; then dmesg | grep -E "segfault|trap|general protection" | tail -n 5 > /dev/console; fi
printf 'userland=%ss enumerated=%ss done=%ss\n' "$T_USERLAND" "$T_ENUM" "$T_DONE" > /hil/timings
result "$rc"
