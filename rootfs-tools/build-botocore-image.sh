#!/usr/bin/env bash
# Builds the botocore test image: Debian 12's python3 and python3-botocore (debootstrap
# minbase, nothing from Docker Hub), as a single-layer OCI image, tag "latest":
#   OUT/oci/      use as oci:OUT/oci:latest
# A real AWS SDK inside a task: its own container credential provider reads
# AWS_CONTAINER_CREDENTIALS_RELATIVE_URI from 169.254.170.2 (Docs/METADATA.md).
#
# Slow once (the packages are downloaded; kept in OUT.cache); later calls return at once
# while OUT/oci/index.json exists. The mirror is FR_DEBIAN_MIRROR (default deb.debian.org).
# Root (debootstrap). Usage: build-botocore-image.sh OUT
set -euo pipefail
out=${1:?usage: build-botocore-image.sh OUT}
if [ -e "$out/oci/index.json" ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then echo "build-botocore-image.sh: run as root (debootstrap)" >&2; exit 1; fi
command -v debootstrap >/dev/null || { echo "build-botocore-image.sh: debootstrap is needed (apt-get install debootstrap)" >&2; exit 1; }
mirror=${FR_DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$out.cache"
cache=$(cd "$out.cache" && pwd)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=python3-minimal,python3-botocore --cache-dir="$cache" bookworm "$root" "$mirror" \
  >"$cache/debootstrap.log" 2>&1 || { tail -20 "$cache/debootstrap.log" >&2; echo "build-botocore-image.sh: debootstrap failed" >&2; exit 1; }
# What the image does not need: apt's lists and caches, documentation, locales.
rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
# Devices are the runtime's to make; debootstrap leaves a few nodes in /dev.
rm -rf "${root:?}"/dev/*
work=$(mktemp -d)
trap 'rm -rf "$root" "$work"' EXIT
tar --sort=name --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  --numeric-owner -C "$root" -cf "$work/layer.tar" .
gzip -n -1 -c "$work/layer.tar" >"$work/layer.tar.gz"
sha() { sha256sum "$1" | cut -d' ' -f1; }
diff_id=$(sha "$work/layer.tar"); layer=$(sha "$work/layer.tar.gz")
arch=$(dpkg --print-architecture)
printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/usr/bin/python3"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "$arch" "$diff_id" >"$work/config.json"
config=$(sha "$work/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
  "$config" "$(stat -c %s "$work/config.json")" "$layer" "$(stat -c %s "$work/layer.tar.gz")" >"$work/manifest.json"
manifest=$(sha "$work/manifest.json")
rm -rf "$out/oci"
mkdir -p "$out/oci/blobs/sha256"
mv "$work/layer.tar.gz" "$out/oci/blobs/sha256/$layer"
cp "$work/config.json" "$out/oci/blobs/sha256/$config"
cp "$work/manifest.json" "$out/oci/blobs/sha256/$manifest"
printf '{"imageLayoutVersion":"1.0.0"}' >"$out/oci/oci-layout"
# index.json last: its presence says the image is whole.
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
  "$manifest" "$(stat -c %s "$work/manifest.json")" >"$out/oci/index.json.tmp"
mv "$out/oci/index.json.tmp" "$out/oci/index.json"
