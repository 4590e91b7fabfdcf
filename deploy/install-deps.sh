#!/bin/sh
# Installs every build and test dependency of Flow from Debian 12 packages
# (and with --bench, what the benchmarks compare against).
# Idempotent: packages already present are left alone, and apt-get runs only
# when something is missing.  Uses sudo when not run as root.
set -eu

PACKAGES="
build-essential
pkg-config
meson
ninja-build
protobuf-c-compiler
libprotobuf-c-dev
libzmq3-dev
libczmq-dev
liblmdb-dev
lmdb-utils
libsodium-dev
libjansson-dev
libunistring-dev
libical-dev
tzdata
libuv1-dev
libraft-dev
liblz4-dev
libcurl4-openssl-dev
clang
libclang-rt-14-dev
libhiredis-dev
"

# The benchmarks also compare with Redis: `install-deps.sh --bench`.
if [ "${1:-}" = "--bench" ]; then
    PACKAGES="$PACKAGES redis-server"
fi

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
