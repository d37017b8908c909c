#!/usr/bin/env bash
# Builds the guest programs:
#   tests/guests/<name>.c -> build/guests/<name>          (aarch64, static)
#   bench/guests/<name>.c -> build/bench/<name>.aarch64   (aarch64, static)
#                         -> build/bench/<name>.x86_64    (host gcc, for native timings)
#   a fixed list of them, dynamically linked, and a dlopen test -> build/guests/dyn/ (see the end)
# A source may carry a line "// CFLAGS: <flags>" with extra compiler flags for that
# program (applied to every build of it). A target is rebuilt only when its source
# (or this script) is newer than it.
set -euo pipefail
cd "$(dirname "$0")/.."

CROSS_CC=${CROSS_CC:-aarch64-linux-gnu-gcc}
HOST_CC=${HOST_CC:-gcc}
BASE_FLAGS=(-O2 -static -pthread)
SCRIPT=toolchains/build-guests.sh

for cc in "$CROSS_CC" "$HOST_CC"; do
    if ! command -v "$cc" >/dev/null 2>&1; then
        echo "error: $cc not found; run toolchains/install.sh" >&2
        exit 1
    fi
done

built=0
uptodate=0

# extra_flags <file>: prints the flags of its "// CFLAGS:" lines
extra_flags() {
    sed -n 's|^[[:space:]]*//[[:space:]]*CFLAGS:[[:space:]]*||p' "$1" | tr '\n' ' '
}

# compile <cc> <src> <out> [extra native flags...]
compile() {
    local cc=$1 src=$2 out=$3
    shift 3
    if [ -f "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "$SCRIPT" ]; then
        uptodate=$((uptodate + 1))
        return 0
    fi
    local extra
    # shellcheck disable=SC2207
    extra=($(extra_flags "$src"))
    echo "  CC  $out"
    "$cc" "${BASE_FLAGS[@]}" "$@" "${extra[@]}" -o "$out.tmp" "$src" -lm
    mv -f "$out.tmp" "$out"
    built=$((built + 1))
}

mkdir -p build/guests build/bench

shopt -s nullglob
for src in tests/guests/*.c; do
    name=$(basename "$src" .c)
    case "$name" in
        mt_*)
            # threaded guests twice: ARMv8.0 exclusives (LL/SC; no outline atomics, which would pick LSE
            # at run time from AT_HWCAP) and ARMv8.1 LSE atomics
            compile "$CROSS_CC" "$src" "build/guests/$name" -march=armv8-a -mno-outline-atomics
            compile "$CROSS_CC" "$src" "build/guests/$name.lse" -march=armv8.1-a
            ;;
        *)
            compile "$CROSS_CC" "$src" "build/guests/$name"
            ;;
    esac
done
for src in bench/guests/*.c; do
    name=$(basename "$src" .c)
    compile "$CROSS_CC" "$src" "build/bench/$name.aarch64"
    compile "$HOST_CC" "$src" "build/bench/$name.x86_64"
done

# Dynamically linked guests (no -static): run with the cross glibc as sysroot, like
# "qemu-aarch64 -L /usr/aarch64-linux-gnu" (tests/Dqemu.Tests/DynamicGuestTests.cs runs them):
#   tests/guests/<name>.c for each name in DYN_GUESTS -> build/guests/dyn/<name>
#   tests/guests/dyn/dyntest_lib.c                    -> build/guests/dyn/libdyntest.so
#   tests/guests/dyn/dlopen_lib.c                     -> build/guests/dyn/dlopen_lib (dlopens the library
#                                                        through its DT_RUNPATH $ORIGIN)
DYN_GUESTS=(demo argv_env printf_fmt file_io string_mem fp_math setjmp tls signal_handler abort_sig mmap_mem
    pipes stdin_echo mt_condvar mt_semaphore_tls mt_timed_cancel perf_hot proc_fork
    gdb_target) # gdb_target: GdbStubTests debugs it as a PIE too (gdb finds its load address in the auxv)
BASE_FLAGS=(-O2 -pthread) # from here on: dynamic
mkdir -p build/guests/dyn
for name in "${DYN_GUESTS[@]}"; do
    compile "$CROSS_CC" "tests/guests/$name.c" "build/guests/dyn/$name"
done
compile "$CROSS_CC" tests/guests/dyn/dyntest_lib.c build/guests/dyn/libdyntest.so -fPIC -shared
compile "$CROSS_CC" tests/guests/dyn/dlopen_lib.c build/guests/dyn/dlopen_lib '-Wl,-rpath,$ORIGIN'

echo "guests: $built built, $uptodate up to date"
