#!/usr/bin/env bash
# Fetches the real Debian programs that bench/realprograms.sh times (issue 11's measuring stick): for each
# program the arm64 package and every library it needs, unpacked into one arm64 root,
#   build/realprograms/sysroot/   (given to qemu-aarch64 and ./dqemu-native with -L)
# and the same programs installed natively (amd64) for the native column.
#
# Nothing is built and nothing fetched is ever part of the repository: the arm64 .debs come from the Debian
# mirror with `apt-get download` (after `dpkg --add-architecture arm64`), their library closure from
# `apt-cache depends --recurse`, and `dpkg-deb -x` unpacks them. Root or sudo is needed for the apt steps.
# Idempotent: does nothing when the sysroot is newer than this script.
set -euo pipefail
cd "$(dirname "$0")/.."

SCRIPT=toolchains/realprograms.sh
OUT=build/realprograms
ROOT=$OUT/sysroot
STAMP=$ROOT/.complete

# the programs (one package each); libraries come with their closure
PACKAGES=(busybox-static lua5.4 python3.11-minimal gawk sqlite3 zstd xz-utils bzip2 gzip grep sed coreutils perl-base bc)

if [ -f "$STAMP" ] && [ "$STAMP" -nt "$SCRIPT" ]; then
    echo "realprograms: $ROOT up to date"
    exit 0
fi

# 1. arm64 as a foreign architecture, so apt can name arm64 packages
source toolchains/arm64-apt.sh
arm64_apt_ready lua5.4

# 2. the native programs (the native column runs the same Debian version of each)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p:amd64" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "realprograms: installing natively: ${missing[*]}"
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 3. the arm64 closure: every package the programs depend on, recursively, unpacked into one root
arm64_unpack_closure realprograms "$OUT/debs" "$ROOT" "${PACKAGES[@]}"
touch "$STAMP"
echo "realprograms: $ROOT ready ($ARM64_CLOSURE_COUNT packages)"
