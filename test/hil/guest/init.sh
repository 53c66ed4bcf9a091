#!/bin/busybox sh
# /init of the HIL initramfs (static busybox). Loads the 9p/overlay modules,
# builds the root: the host's / (9p, read-only) under a tmpfs overlay, mounts
# the run's read-write share on /hil, then runs /hil/boot.sh (written by
# run.sh) with the host's bash in a chroot. Powers off when it returns.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mark() { read -r up _ < /proc/uptime; echo "hil-init: [$up] $*"; }
mark "init started"

halt_now() {
  echo "hil-init: $*"
  sync
  poweroff -f
  sleep 5
}

# Modules in dependency order. Parameters come from the kernel command line
# ("dummy_hcd.num=2"), as modprobe would pass them; "-" and "_" are equal.
cmdline=$(cat /proc/cmdline)
while read -r m; do
  name=$(echo "${m%.ko}" | tr - _)
  params=""
  for w in $cmdline; do
    case "$w" in "$name".*=*) params="$params ${w#"$name".}" ;; esac
  done
  insmod "/lib/modules/$m" $params || halt_now "insmod $m$params failed"
done < /modules.list

mark "modules loaded"
opts=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o "$opts,cache=loose,ro" hostroot /lower || halt_now "cannot mount the host root"
mount -t tmpfs -o mode=0755 tmpfs /rw || halt_now "tmpfs"
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot \
  || halt_now "cannot mount the overlay"
mkdir -p /newroot/hil
mount -t 9p -o "$opts" hilrun /newroot/hil || halt_now "cannot mount the run share"
mark "root ready"
for d in proc sys dev; do
  mount --move "/$d" "/newroot/$d" || halt_now "cannot move /$d"
done

chroot /newroot /bin/bash /hil/boot.sh
echo "hil-init: boot.sh returned $?"
sync
poweroff -f
sleep 5
