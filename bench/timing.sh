# Helpers shared by the whole-run comparisons (bench/compare.sh, bench/realprograms.sh); sourced, not run.
# TIMEOUT (seconds) bounds each run.

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
secs() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
