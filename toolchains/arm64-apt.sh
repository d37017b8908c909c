# Sourced by the scripts that fetch Debian arm64 packages (realprograms.sh, busybox.sh, arm64-sysroot.sh): SUDO for the apt
# steps when not root; arm64_apt_ready PACKAGE, which makes arm64 a foreign architecture of dpkg (once) and refreshes
# apt's lists when PACKAGE:arm64 is not known yet; arm64_closure PACKAGE..., which prints the packages those depend
# on, recursively, themselves included, one a line; arm64_unpack_closure, which fetches and unpacks that closure.
SUDO=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=(sudo -E); fi
export DEBIAN_FRONTEND=noninteractive

arm64_apt_ready() {
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        echo "$(basename "$0"): adding arm64 as a foreign architecture"
        "${SUDO[@]}" dpkg --add-architecture arm64
        "${SUDO[@]}" apt-get update -qq
    fi
    if ! apt-cache show "$1:arm64" >/dev/null 2>&1; then "${SUDO[@]}" apt-get update -qq; fi
}

# Every package PACKAGE... (arm64) depends on, recursively, and they themselves: virtual ones (in <>) are skipped; an
# alternative "A | B" lists both, and both are fetched, which is harmless.
arm64_closure() {
    apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
            --no-replaces --no-enhances "${@/%/:arm64}" 2>/dev/null |
        sed -n 's/^ *\(Pre\)\{0,1\}Depends: //p; /^[a-z0-9]/p' | grep -v '^<' | sed 's/:arm64$//; s/ *$//' |
        grep -E '^[a-z0-9][a-z0-9.+-]*$' | sort -u
}

# Usage: arm64_unpack_closure TAG DEBS ROOT PACKAGE...
# Downloads the arm64 closure of PACKAGE... into DEBS (a .deb already there is kept) and unpacks it all into ROOT,
# emptied first; fails, naming TAG, when a package cannot be had or ROOT has no dynamic linker afterwards. Sets
# ARM64_CLOSURE_COUNT to the number of packages.
arm64_unpack_closure() {
    local tag=$1 debs=$2 root=$3
    shift 3
    local closure p d
    mapfile -t closure < <(arm64_closure "$@")
    [ ${#closure[@]} -gt 0 ] || { echo "$tag: apt-cache found no arm64 packages for $*" >&2; return 1; }
    mkdir -p "$debs"
    rm -rf "$root"
    mkdir -p "$root"
    for p in "${closure[@]}"; do
        compgen -G "$debs/${p}_*_arm64.deb" >/dev/null || compgen -G "$debs/${p}_*_all.deb" >/dev/null && continue
        # one at a time; an "Architecture: all" package is named without the architecture
        (cd "$debs" && { apt-get download -qq "$p:arm64" >/dev/null 2>&1 || apt-get download -qq "$p" >/dev/null 2>&1; }) ||
            { echo "$tag: cannot download $p" >&2; return 1; }
    done
    for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$root"; done
    # merged /usr: Debian bookworm's packages put libraries in /lib and /usr/lib alike; the dynamic linker is looked
    # up at /lib/ld-linux-aarch64.so.1
    [ -e "$root/lib/ld-linux-aarch64.so.1" ] || { echo "$tag: no dynamic linker in $root" >&2; return 1; }
    ARM64_CLOSURE_COUNT=${#closure[@]}
}
