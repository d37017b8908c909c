# Settings and helpers shared by the whole-run comparisons (bench/compare.sh, bench/realprograms.sh); sourced, not
# run, from the repository root. RUNS (per program and configuration), TIMEOUT (seconds, each run), DQEMU and QEMU
# (the binaries) may come from the environment.
RUNS=${RUNS:-5}
TIMEOUT=${TIMEOUT:-300}
DQEMU=${DQEMU:-./dqemu-native}
QEMU=${QEMU:-qemu-aarch64}

# bench_tools: installs the toolchains and qemu-aarch64 (toolchains/install.sh), fails without qemu-aarch64, and sets
# have_dqemu (0: no dqemu-native, whose column then says FAIL).
bench_tools() {
    toolchains/install.sh >/dev/null || { echo "toolchains/install.sh failed" >&2; return 1; }
    if ! command -v "$QEMU" >/dev/null 2>&1; then
        echo "error: $QEMU not found; run toolchains/install.sh" >&2
        return 1
    fi
    have_dqemu=1
    if ! command -v "$DQEMU" >/dev/null 2>&1; then
        echo "warning: $DQEMU not found (run ./build.sh); its column will say FAIL" >&2
        have_dqemu=0
    fi
}

# run_once <outfile> <cmd...>: runs the command with a timeout, stdin from $STDIN (default /dev/null), stdout to
# <outfile>, stderr to <outfile>.err; prints "<microseconds> <exit status>".
run_once() {
    local out=$1
    shift
    local t0 t1 rc
    t0=$(date +%s%N)
    timeout --kill-after=5 "$TIMEOUT" "$@" >"$out" 2>"$out.err" <"${STDIN:-/dev/null}"
    rc=$?
    t1=$(date +%s%N)
    echo "$(( (t1 - t0) / 1000 )) $rc"
}

median() { # reads numbers, one a line; prints the median
    sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "" } else if (NR % 2) { print v[(NR + 1) / 2] } else { print (v[NR / 2] + v[NR / 2 + 1]) / 2 } }'
}
minimum() { sort -n | head -1; } # reads numbers, one a line; prints the smallest
secs() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }

# A row whose dqemu-native runs failed or differed: sets d_s, r_q, r_n, status and any_fail (and says so when there is
# no dqemu-native at all).
mark_failed() {
    d_s=FAIL; r_q=-; r_n=-; status=FAIL; any_fail=1
    if [ "$have_dqemu" -eq 0 ]; then notes+=("no $DQEMU"); fi
}

# print_row <name> <native us> <qemu us> <csv>: the table row (d_s, r_q, r_n, status and the notes array as set) and
# its CSV line.
print_row() {
    local note
    note=$(IFS='; '; echo "${notes[*]:-}")
    printf "%-16s %10s %10s %10s %11s %13s  %s\n" "$1" "$(secs "$2")" "$(secs "$3")" "$d_s" "$r_q" "$r_n" "$note"
    echo "$1,$(secs "$2"),$(secs "$3"),$d_s,$r_q,$r_n,$status" >>"$4"
}
