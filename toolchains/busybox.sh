#!/usr/bin/env bash
# Fetches Debian bookworm's busybox for arm64 (package busybox-static: one static binary) for the process tests
# (tests/Dqemu.Tests/Processes/ShellTests.cs): busybox sh scripts with pipelines, subshells, command substitution,
# redirections and background jobs, compared with qemu-aarch64.
#   build/busybox/busybox
# Nothing fetched is ever part of the repository: `apt-get download busybox-static:arm64` (after
# `dpkg --add-architecture arm64` and an `apt-get update`, which need root or sudo) and `dpkg-deb -x`.
# Idempotent: does nothing when the binary is newer than this script.
set -euo pipefail
cd "$(dirname "$0")/.."

SCRIPT=toolchains/busybox.sh
OUT=build/busybox
BIN=$OUT/busybox
if [ -x "$BIN" ] && [ "$BIN" -nt "$SCRIPT" ]; then
    echo "busybox: $BIN up to date"
    exit 0
fi
source toolchains/arm64-apt.sh
arm64_apt_ready busybox-static
mkdir -p "$OUT/debs"
rm -rf "$OUT/root"
(cd "$OUT/debs" && { compgen -G "busybox-static_*_arm64.deb" >/dev/null || apt-get download -qq busybox-static:arm64; })
dpkg-deb -x "$(compgen -G "$OUT/debs/busybox-static_*_arm64.deb" | head -1)" "$OUT/root"
cp "$OUT/root/bin/busybox" "$BIN"
# e_machine (bytes 18-19 of the ELF header) must be EM_AARCH64 (183)
[ "$(od -An -tx1 -j18 -N2 "$BIN" | tr -d ' \n')" = "b700" ] || { echo "busybox: $BIN is not an AArch64 ELF" >&2; exit 1; }
echo "busybox: $BIN ready"
