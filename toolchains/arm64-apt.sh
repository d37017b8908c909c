# Sourced by the scripts that fetch Debian arm64 packages (realprograms.sh, busybox.sh, arm64-sysroot.sh): SUDO for the apt
# steps when not root; arm64_apt_ready PACKAGE, which makes arm64 a foreign architecture of dpkg (once) and refreshes
# apt's lists when PACKAGE:arm64 is not known yet; arm64_closure PACKAGE..., which prints the packages those depend
# on, recursively, themselves included, one a line.
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
