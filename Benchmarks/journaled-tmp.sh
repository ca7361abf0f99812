#!/usr/bin/env bash
# A journaled ext4 (mkfs.ext4's defaults, as a Debian install has) on a loop device, for the
# benchmarks whose state root should not sit on the build machine's unjournaled root
# filesystem (Docs/PERFORMANCE.md, "The build machine's ext4 has no journal"). Its inode
# tables and journal are written at once, so no background initialisation runs during a
# benchmark. Prints the mount point. Root.
#   TMPDIR=$(Benchmarks/journaled-tmp.sh) Benchmarks/host-start-latency.sh 30
#   Benchmarks/journaled-tmp.sh --remove     # unmount it and delete its image
set -euo pipefail
dir=${JOURNALED_TMP:-/var/tmp/fargate-run-jext4}
img=$dir.img
if [ "${1:-}" = --remove ]; then
  if mountpoint -q "$dir"; then umount "$dir"; fi
  rm -rf "$dir" "$img"
  exit 0
fi
mkdir -p "$dir"
if ! mountpoint -q "$dir"; then
  if [ ! -f "$img" ]; then
    truncate -s 4G "$img"
    mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$img"
  fi
  mount -o loop "$img" "$dir"
fi
echo "$dir"
