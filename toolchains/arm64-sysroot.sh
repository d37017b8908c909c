#!/usr/bin/env bash
# Usage: toolchains/arm64-sysroot.sh NAME PROGRAM PACKAGE...
# Fetches Debian's arm64 PACKAGEs and their library closure (libc6, libgcc-s1, ...) and unpacks them into one arm64
# root, build/NAME/sysroot/, given to qemu-aarch64 and ./dqemu-native with -L; PROGRAM (a path inside it, such as
# usr/bin/openssl) must be there afterwards. Called by the per-program scripts the tests run (luajit.sh, openssl.sh,
# make.sh).
#
# Nothing is built and nothing fetched is ever part of the repository: the .debs come from the Debian mirror with
# `apt-get download` (after `dpkg --add-architecture arm64`), their closure from `apt-cache depends --recurse`, and
# `dpkg-deb -x` unpacks them. Root or sudo is needed for the apt steps. Idempotent: does nothing when the sysroot is
# newer than this script and the calling one.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 3 ] || { echo "usage: $0 NAME PROGRAM PACKAGE..." >&2; exit 2; }
NAME=$1 PROGRAM=$2
shift 2
OUT=build/$NAME
ROOT=$OUT/sysroot
STAMP=$ROOT/.complete
CALLER=toolchains/$NAME.sh

if [ -f "$STAMP" ] && [ "$STAMP" -nt toolchains/arm64-sysroot.sh ] && { [ ! -f "$CALLER" ] || [ "$STAMP" -nt "$CALLER" ]; }; then
    echo "$NAME: $ROOT up to date"
    exit 0
fi

source toolchains/arm64-apt.sh
arm64_apt_ready "$1"

arm64_unpack_closure "$NAME" "$OUT/debs" "$ROOT" "$@"
[ -x "$ROOT/$PROGRAM" ] || { echo "$NAME: no $PROGRAM in $ROOT" >&2; exit 1; }
touch "$STAMP"
echo "$NAME: $ROOT ready ($ARM64_CLOSURE_COUNT packages)"
