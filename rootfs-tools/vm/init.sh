#!/bin/sh
# /init of the cgroup-v2 test VM. Stage 1 (initramfs): load the modules, mount the host's root
# read-only over virtio-9p, lay a tmpfs overlay on it and switch into that: the VM sees the
# host's files, writes go to RAM. Stage 2 (the new root, run by the host's /bin/sh): cgroup2
# alone with cpu, memory, pids and io, tmpfs where containers need a real upper filesystem,
# then the command from the kernel command line; its status is printed as FR-VM-EXIT=N.
if [ "$1" != "stage2" ]; then
  mount -t proc proc /proc
  mount -t sysfs sysfs /sys
  mount -t devtmpfs devtmpfs /dev
  for m in /mods/*.ko; do insmod "$m" || echo "init: insmod $m failed"; done
  mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=524288,cache=loose hostroot /host || { echo "init: cannot mount the host root"; poweroff -f; }
  mount -t tmpfs -o size=80% tmpfs /tmp
  mkdir -p /tmp/upper /tmp/work
  mount -t overlay overlay -o lowerdir=/host,upperdir=/tmp/upper,workdir=/tmp/work /newroot || { echo "init: overlay root failed"; poweroff -f; }
  cp /init /newroot/fr-vm-init
  umount /proc /sys
  mount --move /dev /newroot/dev
  exec switch_root /newroot /bin/sh /fr-vm-init stage2
fi

set -u
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
echo "+cpu +memory +pids +io" >/sys/fs/cgroup/cgroup.subtree_control
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
cmd=""; cwd="/"; mods=""
for w in $(cat /proc/cmdline); do
  case "$w" in
    fr.cmd=*) cmd=$(echo "${w#fr.cmd=}" | base64 -d) ;;
    fr.cwd=*) cwd=$(echo "${w#fr.cwd=}" | base64 -d) ;;
    fr.modules=*) mods=$(echo "${w#fr.modules=}" | base64 -d) ;;
  esac
done
# Overlay upper directories cannot live on an overlay: give containers real tmpfs. A checkout
# (and the kernel modules in its .build) under one of these directories, as a CI job's in
# /tmp, would be hidden by it: it is set aside first and bound back at the same path.
keep=""
for d in /tmp /run /var/lib/fargate-run /var/tmp; do
  case "$cwd/" in "$d"/*) keep=$d ;; esac
done
if [ -n "$keep" ]; then mkdir -p /mnt/fr-cwd && mount --bind "$cwd" /mnt/fr-cwd; fi
for d in /tmp /run /var/lib/fargate-run /var/tmp; do mkdir -p "$d"; mount -t tmpfs -o size=75% tmpfs "$d"; done
if [ -n "$keep" ]; then mkdir -p "$cwd" && mount --move /mnt/fr-cwd "$cwd"; fi
# The kernel's own modules, so it can load what it needs (netfilter, bridge, veth...).
if [ -n "$mods" ] && [ -d "$mods/lib/modules/$(uname -r)" ]; then
  mkdir -p "/lib/modules/$(uname -r)"
  mount --bind "$mods/lib/modules/$(uname -r)" "/lib/modules/$(uname -r)"
  for m in br_netfilter veth bridge; do modprobe "$m" 2>/dev/null; done
fi
ip link set lo up 2>/dev/null
hostname fargate-run-vm
export PATH=/opt/swift/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root CI=${CI:-true} FARGATE_RUN_IN_VM=1
echo "FR-VM-READY kernel $(uname -r), cgroup controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
cd "$cwd" && sh -c "$cmd"
echo "FR-VM-EXIT=$?"
sync
# reboot(2) directly: a clean power-off with no init exiting under the kernel.
busybox poweroff -f 2>/dev/null || echo o >/proc/sysrq-trigger
while :; do sleep 1; done
