#!/usr/bin/env bash
# Installs, on Debian 12 as root, every system package fargate-run needs to build, run its
# example and run its whole test suite. Used by the README's first command and by .ci/run.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then echo "install-deps.sh: run as root" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
packages=(
  # build: the C libraries behind the system-library targets, and SQLite for the ledger
  pkg-config libarchive-dev libseccomp-dev libcap-dev libsqlite3-dev musl-tools
  # run: network namespaces, CNI plugins and the firewall they drive
  iproute2 iptables nftables containernetworking-plugins
  # test images and tests: busybox for images, sqlite3 to inspect the ledger, tar/gzip/zstd
  busybox-static sqlite3 tar gzip zstd python3
  # registry tests: Debian's registry and skopeo to push into it
  docker-registry skopeo apache2-utils openssl
  # the cgroup v2 test VM
  qemu-system-x86 cpio kmod
  # benchmark peers
  runc umoci
)
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
# The Debian package starts a registry through systemd where there is one; tests start their
# own on loopback, so make sure none holds the default port.
if command -v systemctl >/dev/null && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl stop docker-registry || true
fi
echo "install-deps.sh: installed ${#packages[@]} packages"
