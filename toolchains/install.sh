#!/usr/bin/env bash
# Installs the host tools dqemu-native needs to build, test and benchmark:
#   clang + zlib1g-dev       NativeAOT linker and its libz
#   gcc + libc6-dev          host compiler (native x86-64 bench builds)
#   gcc-aarch64-linux-gnu    cross compiler for the guest programs
#   libc6-arm64-cross        aarch64 glibc (static libc for guests, sysroot for -L)
#   qemu-user                /usr/bin/qemu-aarch64, the reference emulator
#   hyperfine, python3       bench/compare.sh
#   bc                       bench/cluster/sweep.sh, bench/wire/wire.sh
#   libucx0                  UCX runtime (libucp.so.0, libucs.so.0): transport = "ucx"
#   libucx-dev               UCX headers: tests/Dqemu.Tests/Rdma/UcxLayoutTests checks the C# binding against them
#   ucx-utils                ucx_info, ucx_perftest: what UCX sees on this host, and its own latency numbers
# Idempotent: checks what is present first and only runs `apt-get update` when
# something must be installed. Needs root (or sudo) only in that case.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

missing=()

# need_cmd <command> <package>: the package is wanted if the command is absent.
need_cmd() {
    if ! command -v "$1" >/dev/null 2>&1; then
        missing+=("$2")
    fi
}
# need_pkg <package>: the package is wanted if dpkg does not know it as installed.
need_pkg() {
    if ! dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$1")
    fi
}
# need_file <path> <package>
need_file() {
    if [ ! -e "$1" ]; then
        missing+=("$2")
    fi
}

need_cmd clang clang
need_pkg zlib1g-dev
need_cmd gcc gcc
need_file /usr/include/stdio.h libc6-dev
need_cmd aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
need_file /usr/aarch64-linux-gnu/lib/libc.so.6 libc6-arm64-cross
need_file /usr/aarch64-linux-gnu/lib/libc.a libc6-dev-arm64-cross
need_cmd qemu-aarch64 qemu-user
need_cmd hyperfine hyperfine
need_cmd python3 python3
need_cmd bc bc # bench/cluster/sweep.sh and bench/wire/wire.sh do their arithmetic with it
need_cmd tc iproute2 # ip and tc: the network-namespace cluster tests (veth, tc netem)
need_pkg libucx0
need_pkg libucx-dev
need_cmd ucx_info ucx-utils

if [ ${#missing[@]} -eq 0 ]; then
    echo "toolchains/install.sh: all tools present"
else
    # de-duplicate, keep order
    mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')
    echo "toolchains/install.sh: installing ${pkgs[*]}"
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: apt-get not found; install these by hand: ${pkgs[*]}" >&2
        exit 1
    fi
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            SUDO=(sudo -E)
        else
            echo "error: not root and no sudo; install these by hand: ${pkgs[*]}" >&2
            exit 1
        fi
    fi
    "${SUDO[@]}" apt-get update
    "${SUDO[@]}" apt-get install -y --no-install-recommends "${pkgs[@]}"
fi

if ! command -v dotnet >/dev/null 2>&1; then
    echo "warning: 'dotnet' (the .NET 10 SDK) is not on PATH; build.sh needs it." >&2
    echo "         see https://learn.microsoft.com/dotnet/core/install/linux-debian" >&2
fi
