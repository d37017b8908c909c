#!/usr/bin/env bash
# Fetches Debian's arm64 LuaJIT (the luajit package and its library closure: libluajit-5.1-2, its common Lua
# modules, libc6, libgcc-s1) and unpacks it into one arm64 root,
#   build/luajit/sysroot/   (given to qemu-aarch64 and ./dqemu-native with -L; the program is usr/bin/luajit)
# for tests/Dqemu.Tests/Jit/LuaJitTests.cs: a guest JIT that writes machine code and runs it.
#
# Nothing is built and nothing fetched is ever part of the repository: the .debs come from the Debian mirror with
# `apt-get download` (after `dpkg --add-architecture arm64`), their closure from `apt-cache depends --recurse`, and
# `dpkg-deb -x` unpacks them. Root or sudo is needed for the apt steps. Idempotent: does nothing when the sysroot is
# newer than this script.
set -euo pipefail
cd "$(dirname "$0")/.."

SCRIPT=toolchains/luajit.sh
OUT=build/luajit
ROOT=$OUT/sysroot
STAMP=$ROOT/.complete

if [ -f "$STAMP" ] && [ "$STAMP" -nt "$SCRIPT" ]; then
    echo "luajit: $ROOT up to date"
    exit 0
fi

source toolchains/arm64-apt.sh
arm64_apt_ready luajit

# the closure (virtual packages, in <>, skipped)
mapfile -t closure < <(arm64_closure luajit)
[ ${#closure[@]} -gt 0 ] || { echo "luajit: apt-cache found no arm64 packages" >&2; exit 1; }

debs=$OUT/debs
mkdir -p "$debs"
rm -rf "$ROOT"
mkdir -p "$ROOT"
(
    cd "$debs"
    for p in "${closure[@]}"; do
        compgen -G "${p}_*_arm64.deb" >/dev/null || compgen -G "${p}_*_all.deb" >/dev/null && continue
        # an "Architecture: all" package is named without the architecture
        apt-get download -qq "$p:arm64" >/dev/null 2>&1 || apt-get download -qq "$p" >/dev/null 2>&1 ||
            { echo "luajit: cannot download $p" >&2; exit 1; }
    done
)
for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$ROOT"; done
[ -e "$ROOT/lib/ld-linux-aarch64.so.1" ] || { echo "luajit: no dynamic linker in $ROOT" >&2; exit 1; }
[ -x "$ROOT/usr/bin/luajit" ] || { echo "luajit: no usr/bin/luajit in $ROOT" >&2; exit 1; }
touch "$STAMP"
echo "luajit: $ROOT ready (${#closure[@]} packages)"
