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

# 3. the arm64 closure: every package the programs depend on, recursively (virtual ones, in <>, are skipped;
#    an alternative "A | B" lists both and both are fetched, which is harmless)
mapfile -t closure < <(arm64_closure "${PACKAGES[@]}")
[ ${#closure[@]} -gt 0 ] || { echo "realprograms: apt-cache found no arm64 packages" >&2; exit 1; }

debs=$OUT/debs
mkdir -p "$debs"
rm -rf "$ROOT"
mkdir -p "$ROOT"
(
    cd "$debs"
    need=()
    for p in "${closure[@]}"; do
        compgen -G "${p}_*_arm64.deb" >/dev/null || compgen -G "${p}_*_all.deb" >/dev/null || need+=("$p:arm64")
    done
    if [ ${#need[@]} -gt 0 ]; then
        echo "realprograms: downloading ${#need[@]} arm64 packages"
        # one at a time; an "Architecture: all" package is named without the architecture
        for p in "${need[@]}"; do
            apt-get download -qq "$p" >/dev/null 2>&1 || apt-get download -qq "${p%:arm64}" >/dev/null 2>&1 ||
                { echo "realprograms: cannot download $p" >&2; exit 1; }
        done
    fi
)
for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$ROOT"; done
# merged /usr: Debian bookworm's packages put libraries in /lib and /usr/lib alike; the dynamic linker is
# looked up at /lib/ld-linux-aarch64.so.1
[ -e "$ROOT/lib/ld-linux-aarch64.so.1" ] || { echo "realprograms: no dynamic linker in $ROOT" >&2; exit 1; }
touch "$STAMP"
echo "realprograms: $ROOT ready (${#closure[@]} packages)"
