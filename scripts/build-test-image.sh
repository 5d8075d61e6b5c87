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
#
# With INNOHOT_MYSQL57_TARBALL set (scripts/test-all.sh sets it from
# ../shared/mysql57), also builds the MySQL 5.7 image of the
# container_mysql57_* tests from the same base: testbeds/image-mysql57 plus
# that tarball, tagged innohot-test-mysql57:<hash of recipe and tarball> and
# innohot-test-mysql57:local (INNOHOT_TEST_IMAGE_MYSQL57 names another).
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

base_tag="$BASE_NAME:$hash"
total_start=$(date +%s)
if docker image inspect "$tag" >/dev/null 2>&1; then
    say "$tag exists (recipe unchanged); nothing to build"
    docker tag "$tag" "$NAME:local"
    mariadb_built=1
else
    say "building $tag (recipe hash $hash)"
    mariadb_built=0
fi

if [ "$mariadb_built" = 1 ] && { [ -z "${INNOHOT_MYSQL57_TARBALL:-}" ] || docker image inspect "$base_tag" >/dev/null 2>&1; }; then
    : # the base is not needed, or there
elif docker image inspect "$base_tag" >/dev/null 2>&1; then
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

if [ "$mariadb_built" = 0 ]; then
    step "docker build $tag (apt-get install mariadb-server mariadb-backup mariadb-client)"
    DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$base_tag" -t "$tag" "$RECIPE" >/dev/null
    done_step
    docker tag "$tag" "$NAME:local"
    say "built $tag (also $NAME:local) in $(( $(date +%s) - total_start )) s; $(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%d MB", $1/1000000}')"
fi

# The MySQL 5.7 image: the same base, the tarball copied into a build context.
if [ -n "${INNOHOT_MYSQL57_TARBALL:-}" ]; then
    RECIPE57=testbeds/image-mysql57
    NAME57=innohot-test-mysql57
    # Its entrypoint is the MariaDB image's (one script serves both servers).
    hash57=$( { for f in $(find "$RECIPE57" -type f | LC_ALL=C sort) "$RECIPE/entrypoint.sh"; do echo "$f"; cat "$f"; done
                echo "$base_tag"; stat -c '%n %s %Y' "$INNOHOT_MYSQL57_TARBALL"; } | sha256sum | cut -c1-12)
    tag57="$NAME57:$hash57"
    if docker image inspect "$tag57" >/dev/null 2>&1; then
        say "$tag57 exists (recipe and tarball unchanged); nothing to build"
    else
        context=$(mktemp -d /tmp/innohot-image57-XXXXXX)
        trap 'rm -rf "$context"' EXIT
        cp -a "$RECIPE57/." "$context/"
        cp "$RECIPE/entrypoint.sh" "$context/entrypoint.sh"
        cp "$INNOHOT_MYSQL57_TARBALL" "$context/mysql57.tar.xz"
        step "docker build $tag57 (libaio1 libssl3 and $(basename "$INNOHOT_MYSQL57_TARBALL"))"
        DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$base_tag" -t "$tag57" "$context" >/dev/null
        done_step
        rm -rf "$context"
        trap - EXIT
    fi
    docker tag "$tag57" "$NAME57:local"
    say "MySQL 5.7 image $tag57 (also $NAME57:local)"
fi
