#!/bin/sh
# Builds the chaos node image without a registry, or reuses it if present.
#
#   docker/build-image.sh            -> prints the image tag (chaos-node:<hash>) on stdout
#   docker/build-image.sh --tag      -> prints the tag it would use, builds nothing
#
# Two layers, each cached by a hash of its inputs:
#   chaos-base:<hash of packages.txt and RECIPE>       mmdebstrap (Debian 12, minbase)
#                                                      of docker/packages.txt, `docker import`ed;
#                                                      slow (about 2 minutes), rebuilt only when
#                                                      the package list changes.
#   chaos-node:<hash of base tag and node/*>           init script and sshd config on top
#                                                      (docker build FROM the local base; nothing
#                                                      is pulled); a few seconds.
# The register binary is not in the image: adapters upload it over SSH at setup.
# The Debian mirror is the host's own (/etc/apt/sources.list.d/debian.sources), or
# CHAOS_DEBIAN_MIRROR. Progress goes to stderr; only the tag goes to stdout.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
log() { echo "build-image: $*" >&2; }

# The package list without comments and blank lines, comma-separated.
packages=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$here/packages.txt" | grep -v '^$' | paste -sd, -)
# Bump RECIPE when the mmdebstrap command below changes in a way that changes
# the image; editing anything else in this script does not rebuild the base.
RECIPE=1
base_hash=$( (cat "$here/packages.txt"; echo "recipe $RECIPE") | sha256sum | cut -c1-12)
base_tag="chaos-base:$base_hash"
node_hash=$( (echo "$base_tag"; cat "$here/node/Dockerfile" "$here/node/init.sh" \
  "$here/node/sshd_config") | sha256sum | cut -c1-12)
node_tag="chaos-node:$node_hash"

if [ "${1:-}" = "--tag" ]; then
  echo "$node_tag"
  exit 0
fi

if docker image inspect "$node_tag" >/dev/null 2>&1; then
  log "reusing $node_tag"
  echo "$node_tag"
  exit 0
fi
# One build at a time on this machine (several checkouts, or tests, may ask
# at once); whoever waited finds the image the other one built.
exec 9>/tmp/chaos-build-image.lock
flock 9
if docker image inspect "$node_tag" >/dev/null 2>&1; then
  log "reusing $node_tag (built while waiting)"
  echo "$node_tag"
  exit 0
fi

mirror=${CHAOS_DEBIAN_MIRROR:-}
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list.d/debian.sources ]; then
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
  mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)
fi
[ -n "$mirror" ] || { log "no Debian mirror found: set CHAOS_DEBIAN_MIRROR"; exit 1; }
# The security archive sits beside the main one on deb.debian.org-style mirrors.
security=$(echo "$mirror" | sed 's#/debian/*$#/debian-security#')

if ! docker image inspect "$base_tag" >/dev/null 2>&1; then
  command -v mmdebstrap >/dev/null || { log "mmdebstrap is missing (apt-get install mmdebstrap)"; exit 1; }
  work=$(mktemp -d /tmp/chaos-image.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  build_log=/tmp/chaos-image-build.log
  log "building $base_tag from $mirror (1.5 minutes on an idle machine; log: $build_log)"
  start=$(date +%s)
  mmdebstrap --variant=minbase --quiet \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --include="$packages" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    bookworm "$work/base.tar" \
    "deb $mirror bookworm main" \
    "deb $mirror bookworm-updates main" \
    "deb $security bookworm-security main" >"$build_log" 2>&1 || {
    log "mmdebstrap failed; the end of $build_log:"
    tail -n 30 "$build_log" >&2
    exit 1
  }
  docker import --change 'LABEL chaos=1' --change 'CMD ["/bin/bash"]' \
    "$work/base.tar" "$base_tag" >/dev/null
  log "built $base_tag in $(( $(date +%s) - start )) s"
fi

log "building $node_tag on $base_tag"
work_log=$(mktemp /tmp/chaos-node-build.XXXXXX)
# The legacy builder needs no buildx and pulls nothing for a local FROM.
if ! DOCKER_BUILDKIT=0 docker build --quiet --build-arg "BASE=$base_tag" --label chaos=1 \
  -t "$node_tag" "$here/node" >"$work_log" 2>&1; then
  log "docker build failed:"
  cat "$work_log" >&2
  exit 1
fi
rm -f "$work_log"
echo "$node_tag"
