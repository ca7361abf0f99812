#!/usr/bin/env bash
# Builds the busybox test image from Debian's busybox-static package, without Docker Hub:
#   OUT/oci/            OCI image layout, tag "latest"   (use as oci:OUT/oci:latest)
#   OUT/busybox.tar     docker-save archive, busybox:latest (use as docker-archive:OUT/busybox.tar)
#   OUT/digests         the manifest, config and layer digests
#
# The same inputs give the same digests: every timestamp, owner and order is fixed.
# Usage: build-busybox-image.sh OUT [--arch amd64|arm64] [--add SRC:DEST]... [--zstd] [--volume PATH]
#   --add copies a file into the image (mode 0755), e.g. a test program.
#   --volume declares PATH with VOLUME and fills it (seed.txt, sub/link -> ../seed.txt),
#            owned by www (33:33), mode 0750: what a task volume mounted there starts with.
#   --zstd compresses the OCI layer with zstd instead of gzip (tar+zstd media type).
set -euo pipefail

out=${1:?usage: build-busybox-image.sh OUT [--arch ARCH] [--add SRC:DEST]...}
shift
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
adds=()
zstd=0
volume=
while [ $# -gt 0 ]; do
  case "$1" in
    --zstd) zstd=1; shift ;;
    --arch) arch=${2:?--arch needs a value}; shift 2 ;;
    --add) adds+=("${2:?--add needs SRC:DEST}"); shift 2 ;;
    --volume) volume=${2:?--volume needs a path}; shift 2 ;;
    *) echo "build-busybox-image: unknown option $1" >&2; exit 2 ;;
  esac
done
busybox=${BUSYBOX:-/bin/busybox}
epoch=${SOURCE_DATE_EPOCH:-0}

[ -x "$busybox" ] || { echo "build-busybox-image: $busybox not found: apt-get install busybox-static" >&2; exit 1; }
banner=$("$busybox" --help 2>&1 || true)
if [[ "$banner" != BusyBox* ]]; then
  echo "build-busybox-image: $busybox does not run as busybox" >&2; exit 1
fi

# The same inputs give the same image, so a build whose inputs match the last one's is
# skipped: the tests ask for the image once per process, and once more inside the cgroup-v2 VM,
# where building it again under software emulation took a minute or two.
inputs=$( {
  cat "$0" "$busybox"
  printf 'arch=%s zstd=%s volume=%s epoch=%s\n' "$arch" "$zstd" "$volume" "$epoch"
  for a in "${adds[@]+"${adds[@]}"}"; do
    printf 'add %s\n' "$a"
    if [ -f "${a%%:*}" ]; then cat "${a%%:*}"; fi
  done
} | sha256sum | cut -d' ' -f1)
if [ -f "$out/.inputs" ] && [ "$(cat "$out/.inputs")" = "$inputs" ]; then
  echo "busybox image in $out: up to date"
  exit 0
fi
rm -f "$out/.inputs"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,var/www,home}
install -m 0755 "$busybox" "$root/bin/busybox"
# Link every applet where busybox expects it (bin/sh, usr/bin/wget, sbin/ip...).
"$busybox" --list-full | while read -r applet; do
  [ "$applet" = "bin/busybox" ] && continue
  mkdir -p "$root/$(dirname "$applet")"
  depth=$(awk -F/ '{print NF-1}' <<<"$applet")
  up=$(printf '../%.0s' $(seq 1 "$depth"))
  ln -sf "${up}bin/busybox" "$root/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nwww:x:33:\nstaff:x:50:www\nnogroup:x:65534:\n' >"$root/etc/group"
echo 'hello from busybox' >"$root/var/www/index.html"
for a in "${adds[@]+"${adds[@]}"}"; do
  src=${a%%:*} dest=${a#*:}
  [ -f "$src" ] || { echo "build-busybox-image: --add $src: no such file" >&2; exit 1; }
  mkdir -p "$root/$(dirname "$dest")"
  install -m 0755 "$src" "$root/$dest"
done
if [ -n "$volume" ]; then
  [[ "$volume" == /* && "$volume" != */ ]] || { echo "build-busybox-image: --volume $volume: an absolute path without a trailing /" >&2; exit 2; }
  mkdir -p "$root$volume/sub"
  echo 'seeded from the image' >"$root$volume/seed.txt"
  ln -s ../seed.txt "$root$volume/sub/link"
fi
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
find "$root" -type d ! -path "$root/tmp" ! -path "$root/root" -exec chmod 0755 {} +
find "$root" -type f ! -perm -u+x -exec chmod 0644 {} +
find "$root" -exec touch -h -d "@$epoch" {} +

tarflags=(--sort=name --format=gnu --owner=0 --group=0 --numeric-owner --mtime="@$epoch")
if [ -n "$volume" ]; then
  # The volume belongs to www: appended as a second pass with that owner, still reproducible.
  find "$root$volume" -type d -exec chmod 0750 {} +
  chmod 0640 "$root$volume/seed.txt"
  tar "${tarflags[@]}" --exclude=".$volume" -C "$root" -cf "$work/layer.tar" .
  tar --sort=name --format=gnu --owner=33 --group=33 --numeric-owner --mtime="@$epoch" -C "$root" -rf "$work/layer.tar" ".$volume"
else
  tar "${tarflags[@]}" -C "$root" -cf "$work/layer.tar" .
fi
layer_type=application/vnd.oci.image.layer.v1.tar+gzip
if [ "$zstd" = 1 ]; then
  command -v zstd >/dev/null || { echo "build-busybox-image: --zstd needs zstd (apt-get install zstd)" >&2; exit 1; }
  zstd -q -19 -c "$work/layer.tar" >"$work/layer.tar.gz"
  layer_type=application/vnd.oci.image.layer.v1.tar+zstd
else
  gzip -n -9 -c "$work/layer.tar" >"$work/layer.tar.gz"
fi

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
diff_id=$(sha "$work/layer.tar")
layer_digest=$(sha "$work/layer.tar.gz")
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
version=$(awk 'NR==1{print $2}' <<<"$banner")

volumes_json=
[ -z "$volume" ] || volumes_json="\"Volumes\":{\"$volume\":{}},"
printf '{"architecture":"%s","config":{"Cmd":["sh"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Labels":{"org.opencontainers.image.title":"busybox","org.opencontainers.image.version":"%s"},"StopSignal":"SIGTERM",%s"WorkingDir":"/"},"created":"%s","history":[{"created":"%s","created_by":"rootfs-tools/build-busybox-image.sh"}],"os":"linux","rootfs":{"diff_ids":["sha256:%s"],"type":"layers"}}' \
  "$arch" "$version" "$volumes_json" "$created" "$created" "$diff_id" >"$work/config.json"
config_digest=$(sha "$work/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"%s","digest":"sha256:%s","size":%s}]}' \
  "$config_digest" "$(size "$work/config.json")" "$layer_type" "$layer_digest" "$(size "$work/layer.tar.gz")" >"$work/manifest.json"
manifest_digest=$(sha "$work/manifest.json")

# OCI image layout.
rm -rf "$out/oci"
mkdir -p "$out/oci/blobs/sha256"
cp "$work/layer.tar.gz" "$out/oci/blobs/sha256/$layer_digest"
cp "$work/config.json" "$out/oci/blobs/sha256/$config_digest"
cp "$work/manifest.json" "$out/oci/blobs/sha256/$manifest_digest"
printf '{"imageLayoutVersion":"1.0.0"}' >"$out/oci/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
  "$manifest_digest" "$(size "$work/manifest.json")" "$arch" >"$out/oci/index.json"

# docker save archive (the classic layout Docker wrote before 25.0: <id>/layer.tar).
d=$work/docker
mkdir -p "$d/$diff_id"
cp "$work/layer.tar" "$d/$diff_id/layer.tar"
cp "$work/config.json" "$d/$config_digest.json"
printf '[{"Config":"%s.json","RepoTags":["busybox:latest"],"Layers":["%s/layer.tar"]}]' "$config_digest" "$diff_id" >"$d/manifest.json"
printf '{"busybox":{"latest":"%s"}}' "$diff_id" >"$d/repositories"
find "$d" -exec touch -h -d "@$epoch" {} +
tar "${tarflags[@]}" -C "$d" -cf "$out/busybox.tar" manifest.json repositories "$config_digest.json" "$diff_id"

printf 'manifest sha256:%s\nconfig sha256:%s\nlayer sha256:%s\ndiff_id sha256:%s\n' \
  "$manifest_digest" "$config_digest" "$layer_digest" "$diff_id" >"$out/digests"
echo "$inputs" >"$out/.inputs"
echo "busybox $version ($arch): oci:$out/oci:latest and docker-archive:$out/busybox.tar (manifest sha256:$manifest_digest)"
