#!/usr/bin/env bash
# Builds five PARSEC 3.0 programs (blackscholes, swaptions, streamcluster, fluidanimate, canneal;
# their pthreads versions) as static binaries for the benchmark sweep and the tests:
#   build/parsec/aarch64/<name>   guests for ./dqemu-native and qemu-aarch64 (aarch64-linux-gnu-gcc/g++)
#   build/parsec/x86_64/<name>    the native x86-64 reference (gcc/g++)
# both with -O2 -static -pthread, and prepares their inputs in build/parsec/inputs/<name>/.
# Both are built with PARSEC's region-of-interest hooks on (-DENABLE_PARSEC_HOOKS), linked to our own
# implementation (bench/parsec/hooks: "[HOOKS] Total time spent in ROI: <s>s" on stderr at exit).
# bench/parsec/programs.toml says how to run and check each one.
#
# Usage: bench/parsec/build.sh            (from any directory)
#        PARSEC_HOME=/path/to/parsec-3.0 bench/parsec/build.sh
# PARSEC_HOME is a tree with PARSEC's layout (pkgs/apps/<name>, pkgs/kernels/<name>); default:
# ../shared/parsec next to the repository. PARSEC's sources are never copied into the repository nor
# modified: each program's src/ is copied to build/parsec/src/<arch>/<name>, our fixes
# (bench/parsec/patches/<name>-*.patch) are applied there and it is built there with PARSEC's own
# Makefile, the way PARSEC's parsecmgmt does (version=pthreads, CC/CXX/CFLAGS/CXXFLAGS/LDFLAGS from
# the environment). A program is rebuilt only when one of its binaries is missing or older than this
# script, its patches or (canneal) our AArch64 atomic layer. Compiler output goes to
# build/parsec/build.log; one line per program is printed.
# Needs m4 and the AArch64 g++ cross compiler: toolchains/install.sh installs them.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/bench/parsec"
SELF="$HERE/build.sh"
PARSEC_HOME=${PARSEC_HOME:-$(realpath -m "$ROOT/../shared/parsec")}
OUT="$ROOT/build/parsec"
LOG="$OUT/build.log"

if [ ! -d "$PARSEC_HOME/pkgs" ]; then
    echo "bench/parsec/build.sh: no PARSEC sources at $PARSEC_HOME (set PARSEC_HOME); PARSEC programs not built"
    exit 0
fi
PARSEC_HOME=$(cd "$PARSEC_HOME" && pwd)

for tool in m4 make patch tar gcc g++ aarch64-linux-gnu-gcc aarch64-linux-gnu-g++; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "bench/parsec/build.sh: '$tool' not found; run toolchains/install.sh" >&2
        exit 1
    fi
done

mkdir -p "$OUT"
: > "$LOG"

# name -> package directory under pkgs/
declare -A PKG=(
    [blackscholes]=apps/blackscholes
    [swaptions]=apps/swaptions
    [streamcluster]=kernels/streamcluster
    [fluidanimate]=apps/fluidanimate
    [canneal]=kernels/canneal
)
PROGRAMS=(blackscholes swaptions streamcluster fluidanimate canneal)
ARCHES=(aarch64 x86_64)

# Files whose change makes a program's binaries stale.
deps_of() {
    local name=$1
    echo "$SELF"
    compgen -G "$HERE/patches/$name-*.patch" || true
    echo "$HERE/hooks/hooks.c"
    echo "$HERE/hooks/hooks.h"
    if [ "$name" = canneal ]; then
        echo "$HERE/canneal-atomic/aarch64/atomic.h"
    fi
}

up_to_date() {
    local name=$1 arch bin dep
    for arch in "${ARCHES[@]}"; do
        bin="$OUT/$arch/$name"
        [ -x "$bin" ] || return 1
        while IFS= read -r dep; do
            [ "$dep" -nt "$bin" ] && return 1
        done < <(deps_of "$name")
    done
    return 0
}

build_one() {
    local name=$1 arch=$2 work p
    local src="$PARSEC_HOME/pkgs/${PKG[$name]}/src"
    work="$OUT/src/$arch/$name"
    rm -rf "$work"
    mkdir -p "$work" "$OUT/$arch"
    cp -R "$src/." "$work/"
    chmod -R u+w "$work"   # PARSEC_HOME may be read-only (CI's copy of shared/ is)
    if [ "$name" = canneal ]; then
        mkdir -p "$work/atomic/aarch64"
        cp "$HERE/canneal-atomic/aarch64/atomic.h" "$work/atomic/aarch64/atomic.h"
    fi
    local patches=()
    mapfile -t patches < <(compgen -G "$HERE/patches/$name-*.patch" | sort)
    for p in "${patches[@]}"; do   # in name order: some patches expect an earlier one applied
        echo "--- $name/$arch: patch $(basename "$p")" >> "$LOG"
        if ! patch -p1 -d "$work" < "$p" >> "$LOG" 2>&1; then
            echo "bench/parsec/build.sh: $(basename "$p") does not apply to $src; see $LOG" >&2
            exit 1
        fi
    done

    local cc cxx
    if [ "$arch" = aarch64 ]; then
        cc=aarch64-linux-gnu-gcc cxx=aarch64-linux-gnu-g++
    else
        cc=gcc cxx=g++
    fi
    local hooks="$OUT/hooks/$arch/hooks.o"
    if [ ! -f "$hooks" ] || [ "$HERE/hooks/hooks.c" -nt "$hooks" ] || [ "$HERE/hooks/hooks.h" -nt "$hooks" ]; then
        mkdir -p "$OUT/hooks/$arch"
        if ! "$cc" -O2 -c "$HERE/hooks/hooks.c" -o "$hooks" >> "$LOG" 2>&1; then
            echo "bench/parsec/build.sh: compiling bench/parsec/hooks/hooks.c for $arch failed; see $LOG" >&2
            exit 1
        fi
    fi
    echo "--- $name/$arch: make" >> "$LOG"
    # The Makefiles add their own -DENABLE_THREADS -pthread etc. to these (+=), as under parsecmgmt.
    local flags="-O2 -pthread -DENABLE_PARSEC_HOOKS -I$HERE/hooks"
    if ! (cd "$work" && env version=pthreads CC="$cc" CXX="$cxx" M4=m4 \
            CFLAGS="$flags" CXXFLAGS="$flags" LDFLAGS="-static -pthread" LIBS="$hooks" \
            make >> "$LOG" 2>&1); then
        echo "bench/parsec/build.sh: building $name for $arch failed; see $LOG" >&2
        exit 1
    fi
    cp "$work/$name" "$OUT/$arch/$name.tmp"
    mv -f "$OUT/$arch/$name.tmp" "$OUT/$arch/$name"
}

for name in "${PROGRAMS[@]}"; do
    if [ ! -d "$PARSEC_HOME/pkgs/${PKG[$name]}/src" ]; then
        echo "bench/parsec/build.sh: $name: no $PARSEC_HOME/pkgs/${PKG[$name]}/src; skipped"
        continue
    fi
    if up_to_date "$name"; then
        echo "bench/parsec/build.sh: $name up to date (build/parsec/{aarch64,x86_64}/$name)"
        continue
    fi
    for arch in "${ARCHES[@]}"; do
        build_one "$name" "$arch"
    done
    echo "bench/parsec/build.sh: built $name (build/parsec/{aarch64,x86_64}/$name)"
done

# ---- inputs ----------------------------------------------------------------------------------
# Made once (when missing): they depend on PARSEC's files only. A line is printed when some are made.

# blackscholes: option files made by PARSEC's own generator (inputgen.c cycles through the 1000
# options of optionData.txt), at the sizes programs.toml names (in_<N>[K|M].txt; K = 1024 as in
# PARSEC's in_4K/in_16K/in_64K, M = 1000000 as in its in_10M). Generated on the host: the files are
# text and the same for every architecture.
bs_inputs() {
    local dir="$OUT/inputs/blackscholes" gen="$OUT/tools/inputgen" f n count made=()
    local gsrc="$PARSEC_HOME/pkgs/${PKG[blackscholes]}/src"
    [ -d "$gsrc" ] || return 0
    mkdir -p "$dir"
    # the file names in the [[program]] block of blackscholes in the manifest
    local names
    names=$(awk '/^\[\[program\]\]/ { inblk = 0 }
                 /^name *= *"blackscholes"/ { inblk = 1 }
                 inblk { while (match($0, /in_[0-9]+[KM]?\.txt/)) { print substr($0, RSTART, RLENGTH); $0 = substr($0, RSTART + RLENGTH) } }' \
            "$HERE/programs.toml" | sort -u)
    for f in $names; do
        [ -s "$dir/$f" ] && continue
        if [ ! -x "$gen" ]; then
            mkdir -p "$(dirname "$gen")"
            gcc -O2 -I"$gsrc" -o "$gen" "$gsrc/inputgen.c" >> "$LOG" 2>&1
        fi
        n=${f#in_}; n=${n%.txt}
        case $n in
            *K) count=$(( ${n%K} * 1024 )) ;;
            *M) count=$(( ${n%M} * 1000000 )) ;;
            *)  count=$n ;;
        esac
        "$gen" "$count" "$dir/$f.tmp" >> "$LOG" 2>&1
        mv -f "$dir/$f.tmp" "$dir/$f"
        made+=("$f")
    done
    if [ ${#made[@]} -gt 0 ]; then
        echo "bench/parsec/build.sh: made blackscholes inputs ${made[*]} (build/parsec/inputs/blackscholes)"
    fi
}

# Unpacks the members of a program's inputs/*.tar whose names match a regex (all when it is empty).
untar_inputs() {
    local name=$1 pattern=$2 dir="$OUT/inputs/$1" t m made=()
    mkdir -p "$dir"
    for t in "$PARSEC_HOME/pkgs/${PKG[$name]}/inputs"/*.tar; do
        [ -e "$t" ] || continue
        while IFS= read -r m; do
            [[ $m == */ ]] && continue
            [ -n "$pattern" ] && [[ ! $m =~ $pattern ]] && continue
            [ -e "$dir/$m" ] && continue
            tar --no-same-owner -xf "$t" -C "$dir" "$m"
            made+=("$m")
        done < <(tar -tf "$t")
    done
    if [ ${#made[@]} -gt 0 ]; then
        echo "bench/parsec/build.sh: unpacked $name inputs ${made[*]} (build/parsec/inputs/$name)"
    fi
}

bs_inputs
# fluidanimate: the 15K-particle fluid (simdev); frames scale the work. The larger fluids of a full
# parsec-3.0 tree are left packed.
untar_inputs fluidanimate '^in_15K\.fluid$'
# canneal: every netlist its tars have (10 and 100 elements in the subset in shared/).
untar_inputs canneal ''
