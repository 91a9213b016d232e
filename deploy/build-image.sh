#!/usr/bin/env bash
# Builds the workbench's container image without a registry. The base is a
# Debian root filesystem that debootstrap makes from Debian's mirror, so
# nothing is pulled; buildah builds deploy/Containerfile on it. Runs as
# root (debootstrap, buildah) and installs both from Debian when missing.
#
# Usage: deploy/build-image.sh [image name, default localhost/workbench:latest]
# Environment: SKIP_BUILD=1 uses the release build already in target/.
# Leaves the image in the local store, and target/image/workbench.oci.tar
# for `podman load -i` on another host.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

image="${1:-localhost/workbench:latest}"
context="$CARGO_TARGET_DIR/image"
say() { printf '==> %s\n' "$*"; }

for tool in debootstrap buildah; do
  if ! command -v "$tool" >/dev/null; then
    say "installing $tool from Debian"
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$tool"
  fi
done

if [ "${SKIP_BUILD:-}" != 1 ]; then
  say "building the release server and the browser bundle"
  cargo leptos build --release --split
  scripts/build-enhance.sh --release
  scripts/build-bundles.sh --release
fi

mkdir -p "$context"
if [ ! -f "$context/rootfs.tar" ]; then
  say "making the Debian bookworm root filesystem (debootstrap, about a minute)"
  rm -rf "$context/rootfs"
  debootstrap --variant=minbase bookworm "$context/rootfs" http://deb.debian.org/debian
  chroot "$context/rootfs" useradd --system --uid 10001 --user-group --home-dir /var/lib/workbench \
    --no-create-home --shell /usr/sbin/nologin workbench
  chroot "$context/rootfs" install -d -o workbench -g workbench -m 750 /var/lib/workbench
  rm -rf "$context/rootfs/var/cache/apt/archives/"*.deb "$context/rootfs/var/lib/apt/lists/"*
  tar --numeric-owner -C "$context/rootfs" -cf "$context/rootfs.tar" .
  rm -rf "$context/rootfs"
fi

say "gathering the binary, the browser bundle and the course"
rm -rf "$context/app"
mkdir -p "$context/app/course"
cp "$CARGO_TARGET_DIR/release/workbench" "$context/app/workbench"
cp -r target/site "$context/app/site"
cp -r course.toml lessons exercises "$context/app/course/"

say "building $image"
buildah bud --layers=false -f deploy/Containerfile -t "$image" "$context"
rm -f "$context/workbench.oci.tar"
buildah push "$image" "oci-archive:$context/workbench.oci.tar:$image"
say "built $image; exported to $context/workbench.oci.tar ($(du -h "$context/workbench.oci.tar" | cut -f1))"
