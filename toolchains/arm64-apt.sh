# Sourced by the scripts that fetch Debian arm64 packages (realprograms.sh, busybox.sh): SUDO for the apt steps when
# not root, and arm64_apt_ready PACKAGE, which makes arm64 a foreign architecture of dpkg (once) and refreshes apt's
# lists when PACKAGE:arm64 is not known yet.
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
