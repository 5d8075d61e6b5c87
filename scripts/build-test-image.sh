#!/usr/bin/env bash
# Builds the MariaDB 10.11 image of the container tests (cli/tests/container_*)
# with no registry: a debootstrap base of Debian from the archive this host's
# apt uses, imported with `docker import`, then testbeds/image/Dockerfile
# installing Debian's mariadb-server, mariadb-backup and mariadb-client.
#
# Idempotent: the tag is a hash of the recipe (testbeds/image/* and the
# host's apt sources copied into the base); when that tag exists nothing is
# built. The newest build is also tagged innohot-test-mariadb:local, the
# image the tests use unless INNOHOT_TEST_IMAGE names another.
# Installs debootstrap with apt-get when missing (root only).
set -euo pipefail
cd "$(dirname "$0")/.."

RECIPE=testbeds/image
NAME=innohot-test-mariadb
BASE_NAME=innohot-test-base
SOURCES=/etc/apt/sources.list.d/debian.sources

say() { echo "build-test-image: $*"; }
step_start=0
step() { step_start=$(date +%s); say "$*"; }
done_step() { say "  done in $(( $(date +%s) - step_start )) s"; }

# shellcheck source=../testbeds/image/base.env
. "$RECIPE/base.env"

hash=$( { for f in $(find "$RECIPE" -type f | LC_ALL=C sort); do echo "$f"; cat "$f"; done
          cat "$SOURCES" 2>/dev/null || true; } | sha256sum | cut -c1-12)
tag="$NAME:$hash"

if docker image inspect "$tag" >/dev/null 2>&1; then
    say "$tag exists (recipe unchanged); nothing to build"
    docker tag "$tag" "$NAME:local"
    exit 0
fi
say "building $tag (recipe hash $hash)"
total_start=$(date +%s)

base_tag="$BASE_NAME:$hash"
if docker image inspect "$base_tag" >/dev/null 2>&1; then
    say "base $base_tag exists"
else
    if ! command -v debootstrap >/dev/null 2>&1; then
        if [ "$(id -u)" -ne 0 ]; then
            say "debootstrap missing and not root; as root: apt-get update && apt-get install -y debootstrap" >&2
            exit 1
        fi
        step "apt-get install debootstrap"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
        done_step
    fi
    # The archive this host's apt uses (first URIs of the deb822 sources).
    mirror=$(awk '/^URIs:/ {print $2; exit}' "$SOURCES" 2>/dev/null || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    rootfs=$(mktemp -d /tmp/innohot-rootfs-XXXXXX)
    trap 'rm -rf "$rootfs"' EXIT
    step "debootstrap --variant=$VARIANT $SUITE from $mirror"
    debootstrap --variant="$VARIANT" "$SUITE" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
        tail -n 30 "$rootfs.log" >&2
        exit 1
    }
    rm -f "$rootfs.log"
    done_step
    step "apt sources and settings of this host into the base; policy-rc.d exits 101"
    rm -f "$rootfs/etc/apt/sources.list"
    if [ -f "$SOURCES" ]; then
        cp "$SOURCES" "$rootfs/etc/apt/sources.list.d/debian.sources"
    fi
    cp -a /etc/apt/apt.conf.d/. "$rootfs/etc/apt/apt.conf.d/"
    printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
    chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
    rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
    done_step
    step "docker import -> $base_tag"
    tar --numeric-owner -C "$rootfs" -c . | docker import - "$base_tag" >/dev/null
    done_step
    rm -rf "$rootfs"
    trap - EXIT
fi

step "docker build $tag (apt-get install mariadb-server mariadb-backup mariadb-client)"
DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$base_tag" -t "$tag" "$RECIPE" >/dev/null
done_step
docker tag "$tag" "$NAME:local"
say "built $tag (also $NAME:local) in $(( $(date +%s) - total_start )) s; $(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%d MB", $1/1000000}')"
