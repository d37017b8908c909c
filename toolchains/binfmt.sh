#!/usr/bin/env bash
# Registers dqemu-native with the kernel's binfmt_misc, so AArch64 ELF programs run as ./program.
#   toolchains/binfmt.sh register [FLAGS]   as root: mount binfmt_misc if needed, register entry dqemu-aarch64
#                                           (FLAGS: letters of P, O, C, F; default none, as qemu-binfmt-conf.sh)
#   toolchains/binfmt.sh unregister         as root: remove the entry
#   toolchains/binfmt.sh status             the entry as the kernel holds it, or "not registered"
#   toolchains/binfmt.sh print [FLAGS]      the line written to /proc/sys/fs/binfmt_misc/register
# DQEMU (default: ./dqemu-native beside this directory) is the interpreter registered. The kernel runs the first
# matching entry registered: an enabled qemu-aarch64 entry registered earlier wins (disable it: echo 0 > its file).
# Dynamically linked programs find their dynamic linker under $QEMU_LD_PREFIX (default /usr/aarch64-linux-gnu).
set -euo pipefail
cd "$(dirname "$0")/.."
DQEMU=${DQEMU:-$PWD/dqemu-native}
DIR=/proc/sys/fs/binfmt_misc
NAME=dqemu-aarch64

if [ ! -x "$DQEMU" ]; then
    echo "error: $DQEMU not found; run ./build.sh" >&2
    exit 1
fi

case "${1:-}" in
    register)
        if [ ! -e "$DIR/register" ]; then
            mount -t binfmt_misc binfmt_misc "$DIR"
        fi
        exec "$DQEMU" --binfmt register --binfmt-flags "${2:-}"
        ;;
    unregister)
        exec "$DQEMU" --binfmt unregister
        ;;
    status)
        if [ -e "$DIR/$NAME" ]; then cat "$DIR/$NAME"; else echo "not registered"; fi
        ;;
    print)
        exec "$DQEMU" --binfmt print --binfmt-flags "${2:-}"
        ;;
    *)
        echo "usage: $0 register [FLAGS] | unregister | status | print [FLAGS]" >&2
        exit 64
        ;;
esac
