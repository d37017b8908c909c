#!/usr/bin/env bash
# Builds a real pthreads program for the "real world" test (tests/Dqemu.Tests/RealWorldTests.cs):
# zstd, the Zstandard compressor, from its Debian bookworm source (package libzstd), with its
# multi-threaded compression (-T: a pthreads worker pool, mutexes and condition variables) and its
# threaded asynchronous file I/O:
#   build/realworld/zstd.aarch64   aarch64-linux-gnu-gcc -O2 -static -pthread
#
# Why zstd and not pigz: the reachable Debian mirror serves pigz's .dsc but answers 404 for its
# tarballs (pigz_2.6.orig.tar.xz, pigz_2.6-1.debian.tar.xz), so `apt-get source pigz` cannot work
# here. zstd is a comparable parallel compressor whose source is complete on the mirror and that
# needs no other library (its optional zlib/lzma/lz4 support is switched off).
#
# The source is fetched with `apt-get source` into build/realworld/ (git-ignored); nothing fetched
# is ever part of the repository. If no deb-src entry is configured this script adds
# /etc/apt/sources.list.d/dqemu-src.sources (bookworm main) and runs `apt-get update` once; it
# installs dpkg-dev (needed by `apt-get source`) when missing. Root or sudo is needed only for those.
# Idempotent: does nothing when zstd.aarch64 is newer than this script.
set -euo pipefail
cd "$(dirname "$0")/.."

SCRIPT=toolchains/realworld.sh
SRC_PKG=libzstd
OUT_DIR=build/realworld
OUT=$OUT_DIR/zstd.aarch64
CROSS_CC=${CROSS_CC:-aarch64-linux-gnu-gcc}

if [ -x "$OUT" ] && [ "$OUT" -nt "$SCRIPT" ]; then
    echo "realworld: $OUT up to date"
    exit 0
fi

for tool in "$CROSS_CC" make; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: $tool not found; run toolchains/install.sh" >&2
        exit 1
    fi
done
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: apt-get not found; realworld.sh fetches Debian sources with apt-get source" >&2
    exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -E)
fi
export DEBIAN_FRONTEND=noninteractive

# 1. `apt-get source` needs dpkg-source (dpkg-dev) and a deb-src entry.
if ! command -v dpkg-source >/dev/null 2>&1; then
    echo "realworld: installing dpkg-dev"
    "${SUDO[@]}" apt-get install -y --no-install-recommends dpkg-dev ||
        { "${SUDO[@]}" apt-get update && "${SUDO[@]}" apt-get install -y --no-install-recommends dpkg-dev; }
fi

has_deb_src() {
    grep -qsE '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list ||
        grep -qsiE '^[[:space:]]*Types:.*deb-src' /etc/apt/sources.list.d/*.sources
}
SRC_LIST=/etc/apt/sources.list.d/dqemu-src.sources
if ! has_deb_src; then
    echo "realworld: adding $SRC_LIST (deb-src, bookworm main) and running apt-get update"
    printf '%s\n' \
        'Types: deb-src' \
        'URIs: http://deb.debian.org/debian' \
        'Suites: bookworm' \
        'Components: main' \
        'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
        "${SUDO[@]}" tee "$SRC_LIST" >/dev/null
    "${SUDO[@]}" apt-get update
elif ! apt-cache showsrc "$SRC_PKG" 2>/dev/null | grep -q "^Package: $SRC_PKG"; then
    # a deb-src entry exists but its index was never downloaded (e.g. an earlier update failed)
    echo "realworld: source index missing; running apt-get update"
    "${SUDO[@]}" apt-get update
fi

mkdir -p "$OUT_DIR"
cd "$OUT_DIR"

# 2. The source, unpacked with Debian's patches applied; fetched once.
find_src() { find . -maxdepth 1 -type d -name "$SRC_PKG-[0-9]*" | sort | tail -n 1; }
SRC_DIR=$(find_src)
if [ -z "$SRC_DIR" ]; then
    echo "realworld: apt-get source $SRC_PKG"
    apt-get source -q "$SRC_PKG"
    SRC_DIR=$(find_src)
    [ -n "$SRC_DIR" ] || { echo "error: apt-get source $SRC_PKG left no $SRC_PKG-* directory" >&2; exit 1; }
fi
SRC_DIR=${SRC_DIR#./}

# 3. The zstd command line program with its own Makefile (which compiles the library sources in).
# HAVE_PTHREAD is given because the Makefile's probe would test the host, not the cross compiler;
# MOREFLAGS comes last on the command line, so -O2 replaces the default -O3.
echo "realworld: building zstd from $SRC_DIR"
make -s -C "$SRC_DIR/programs" -j"$(nproc)" zstd \
    CC="$CROSS_CC" HAVE_PTHREAD=1 HAVE_ZLIB=0 HAVE_LZMA=0 HAVE_LZ4=0 \
    MOREFLAGS=-O2 LDFLAGS=-static
cp -f "$SRC_DIR/programs/zstd" zstd.aarch64.tmp
mv -f zstd.aarch64.tmp zstd.aarch64
echo "realworld: built $OUT ($SRC_DIR)"
