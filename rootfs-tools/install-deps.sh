#!/usr/bin/env bash
# Installs, on Debian 12 as root, the system packages fargate-run needs.
#   install-deps.sh           everything: build, run, the example, and the whole test suite
#                             (used by .ci/run)
#   install-deps.sh --build   only what building, installing and running fargate-run and its
#                             example need (used by rootfs-tools/install.sh)
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then echo "install-deps.sh: run as root" >&2; exit 1; fi
case "${1:-}" in
  "") all=1 ;;
  --build) all=0 ;;
  *) echo "usage: install-deps.sh [--build]" >&2; exit 2 ;;
esac
export DEBIAN_FRONTEND=noninteractive
packages=(
  # build: the C libraries behind the system-library targets, and SQLite for the ledger; musl
  # for the static task monitor; git names the commit in --version, gzip compresses the man page
  pkg-config libarchive-dev libseccomp-dev libcap-dev libsqlite3-dev musl-tools git gzip
  # run: network namespaces, CNI plugins and the firewall they drive
  iproute2 iptables nftables containernetworking-plugins
  # the example's image, from Debian's busybox
  busybox-static
)
if [ "$all" = 1 ]; then
  packages+=(
    # tests: sqlite3 to inspect the ledger, tar/zstd for images; python3-venv for the ECS API's
    # clients (below)
    sqlite3 tar zstd python3 python3-venv
    # registry tests: Debian's registry and skopeo to push into it
    docker-registry skopeo apache2-utils openssl
    # the cgroup v2 test VM
    qemu-system-x86 cpio kmod
    # the package tests: building and linting the .deb, a clean Debian root to install it in,
    # and the shells whose completions are loaded
    dpkg-dev lintian debootstrap bash-completion zsh fish
    # benchmark peers
    runc umoci
  )
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
# The Debian package starts a registry through systemd where there is one; tests start their
# own on loopback, so make sure none holds the default port.
if [ "$all" = 1 ] && command -v systemctl >/dev/null && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl stop docker-registry || true
fi
# The ECS API tests drive the server with the real aws CLI and boto3, at pinned versions from
# PyPI (Debian 12's are from 2022 and lack AWS_ENDPOINT_URL_ECS and DeleteTaskDefinitions).
clients=/opt/fargate-run-test-clients
if [ "$all" = 1 ] && ! "$clients/bin/python" -c 'import boto3, awscli; assert boto3.__version__ == "1.43.11"' 2>/dev/null; then
  rm -rf "$clients"
  /usr/bin/python3 -m venv "$clients"
  "$clients/bin/pip" install -q --disable-pip-version-check awscli==1.45.11 boto3==1.43.11
fi
echo "install-deps.sh: installed ${#packages[@]} packages"
