#!/usr/bin/env bash
# A clean Debian 12 to install fargate-run's package in, without touching this machine's /.
#
#   debian-root.sh base BASE
#       debootstraps Debian 12 (minbase, plus systemd and man-db, as an installed system has
#       them) into BASE once, with apt's lists; later calls only refresh the lists when they
#       are older than 12 hours. Downloads are kept in BASE.cache for the next debootstrap.
#   debian-root.sh run BASE WORK SCRIPT [HOST:INSIDE...]
#       runs SCRIPT with /bin/sh inside a fresh root: an overlay of BASE whose writes go to
#       WORK (BASE itself stays clean), in a mount namespace of its own, so every mount made
#       for it or by it goes when it ends. Inside: /proc, /sys and /dev of the host, a tmpfs
#       /run holding the host's /run/fargate-run (the bridge, its leases and the host ports
#       are the host's), /var/lib/fargate-run on WORK/state (a real filesystem: an overlay
#       cannot hold containers' upper layers), apt's downloads kept in BASE.cache, and each
#       HOST:INSIDE directory bound read-only (HOST:INSIDE:rw writable; no spaces in either).
#       Exits with SCRIPT's status.
#
# Root. The mirror is FR_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then echo "debian-root.sh: run as root" >&2; exit 1; fi
mirror=${FR_DEBIAN_MIRROR:-http://deb.debian.org/debian}

# An absolute path (debootstrap wants one for its cache; the binds too).
absolute() { mkdir -p "$1" && (cd "$1" && pwd); }

base() {
  local base
  base=$(absolute "$1")
  mkdir -p "$base.cache/debootstrap" "$base.cache/archives/partial"
  if [ ! -e "$base/.complete" ]; then
    command -v debootstrap >/dev/null || { echo "debian-root.sh: debootstrap is needed (apt-get install debootstrap)" >&2; exit 1; }
    rm -rf "$base"
    debootstrap --variant=minbase --include=systemd,man-db --cache-dir="$base.cache/debootstrap" bookworm "$base" "$mirror" \
      >"$base.cache/debootstrap.log" 2>&1 || { tail -20 "$base.cache/debootstrap.log" >&2; echo "debian-root.sh: debootstrap failed" >&2; exit 1; }
    touch -d '1970-01-01' "$base/.lists"
    touch "$base/.complete"
  fi
  if [ -z "$(find "$base/.lists" -mmin -720 2>/dev/null)" ]; then
    cp /etc/resolv.conf "$base/etc/resolv.conf"
    chroot "$base" apt-get update -qq || { echo "debian-root.sh: apt-get update in $base failed" >&2; exit 1; }
    touch "$base/.lists"
  fi
}

run() {
  local base work script=$3
  base=$(absolute "$1")
  work=$(absolute "$2")
  shift 3
  [ -e "$base/.complete" ] || { echo "debian-root.sh: $base is not made (debian-root.sh base $base)" >&2; exit 1; }
  mkdir -p "$work/upper" "$work/work" "$work/root" "$work/state" /run/fargate-run
  local binds=() b
  for b in "$@"; do binds+=("$b"); done
  # The rest runs in a new mount namespace (unshare), whose mounts die with it.
  FR_BASE=$base FR_WORK=$work FR_SCRIPT=$script FR_BINDS="${binds[*]:-}" unshare --mount --propagation private bash -euo pipefail -c '
    root=$FR_WORK/root
    mount -t overlay overlay -o "lowerdir=$FR_BASE,upperdir=$FR_WORK/upper,workdir=$FR_WORK/work" "$root"
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs -o mode=0755 tmpfs "$root/run"
    mkdir -p "$root/run/fargate-run" "$root/var/lib/fargate-run"
    mount --bind /run/fargate-run "$root/run/fargate-run"
    mount --bind "$FR_WORK/state" "$root/var/lib/fargate-run"
    mount --bind "$FR_BASE.cache/archives" "$root/var/cache/apt/archives"
    for b in $FR_BINDS; do
      mode=ro
      case "$b" in *:rw) mode=rw; b=${b%:rw} ;; esac
      mkdir -p "$root${b#*:}"
      mount --bind "${b%%:*}" "$root${b#*:}"
      [ "$mode" = rw ] || mount -o remount,bind,ro "$root${b#*:}"
    done
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    exec chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
      DEBIAN_FRONTEND=noninteractive /bin/sh -c "$FR_SCRIPT"
  '
}

case "${1:-}" in
  base) base "${2:?usage: debian-root.sh base BASE}" ;;
  run) shift; run "${1:?usage: debian-root.sh run BASE WORK SCRIPT [HOST:INSIDE...]}" "${2:?}" "${3:?}" "${@:4}" ;;
  *) echo "usage: debian-root.sh base BASE | run BASE WORK SCRIPT [HOST:INSIDE...]" >&2; exit 2 ;;
esac
