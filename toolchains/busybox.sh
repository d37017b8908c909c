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
SUDO=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=(sudo -E); fi
export DEBIAN_FRONTEND=noninteractive
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "busybox: adding arm64 as a foreign architecture"
    "${SUDO[@]}" dpkg --add-architecture arm64
    "${SUDO[@]}" apt-get update -qq
fi
if ! apt-cache show busybox-static:arm64 >/dev/null 2>&1; then "${SUDO[@]}" apt-get update -qq; fi
mkdir -p "$OUT/debs"
rm -rf "$OUT/root"
(cd "$OUT/debs" && { compgen -G "busybox-static_*_arm64.deb" >/dev/null || apt-get download -qq busybox-static:arm64; })
dpkg-deb -x "$(compgen -G "$OUT/debs/busybox-static_*_arm64.deb" | head -1)" "$OUT/root"
cp "$OUT/root/bin/busybox" "$BIN"
file "$BIN" 2>/dev/null | grep -q aarch64 || { command -v file >/dev/null && { echo "busybox: $BIN is not an AArch64 binary" >&2; exit 1; }; }
echo "busybox: $BIN ready"
