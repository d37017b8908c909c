#!/usr/bin/env bash
# Times real Debian programs (bookworm's own binaries, fetched by toolchains/realprograms.sh) on fixed workloads:
#   native x86-64 (the amd64 package)  vs  qemu-aarch64 -L sysroot  vs  ./dqemu-native -L sysroot
# Each is run RUNS times (default 5), alternating between the three; the median wall-clock time is reported, with
# the geometric means of dqemu/qemu and dqemu/native over every program that passed (of the medians, and of each
# configuration's fastest run: these VMs slow down for minutes at a time). dqemu-native's stdout and exit
# status must equal qemu-aarch64's (else FAIL); a native output that differs is flagged in the notes.
#
#   bench/realprograms.sh [name ...]        (default: every program in NAMES below)
#   RUNS=3 bench/realprograms.sh lua python
#   DQEMU=path/to/other-binary bench/realprograms.sh; STRICT=1 makes a FAIL row exit 1
#
# Results also go to build/realprograms/results.csv.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

OUT=build/realprograms
ROOT=$OUT/sysroot
export LC_ALL=C

source bench/timing.sh
bench_tools || exit 1
toolchains/realprograms.sh >/dev/null || { echo "toolchains/realprograms.sh failed" >&2; exit 1; }

# the workloads' input: 400,000 lines of numbers and words (~8 MB), the same every time
input=$OUT/input.txt
if [ ! -s "$input" ]; then
    awk 'BEGIN { for (i = 1; i <= 400000; i++) printf "%d %d word%d %s\n", i, (i * 7919) % 10007, i % 97, (i % 3 ? "alpha" : "beta") }' >"$input.tmp" &&
        mv "$input.tmp" "$input"
fi
bcin=$OUT/pi.bc
printf 'scale=1200\n4*a(1)\n' >"$bcin"

# workload <name>: sets prog (its path, the same natively and under the sysroot), args and STDIN
workload() {
    STDIN=/dev/null
    case $1 in
        busybox-sha256) prog=/bin/busybox; args=(sha256sum "$input") ;;
        busybox-awk) prog=/bin/busybox; args=(awk '{ s += $2; n[$3]++ } END { print s, length(n) }' "$input") ;;
        lua) prog=/usr/bin/lua5.4
            args=(-e 'local t = {} for i = 1, 3000000 do t[i] = i * i % 1000 end local s = 0 for i = 1, #t do s = s + t[i] end print(s)') ;;
        python) prog=/usr/bin/python3.11; args=(-S -c 'print(sum(i * i % 7 for i in range(2000000)))') ;;
        gawk) prog=/usr/bin/gawk; args=('{ a[$3] += $2 } END { for (k in a) n += a[k]; print n }' "$input") ;;
        sqlite3) prog=/usr/bin/sqlite3
            args=(:memory: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400000) SELECT sum(x * x % 1000), count(*) FROM c;') ;;
        zstd) prog=/usr/bin/zstd; args=(-q -3 -c "$input") ;;
        xz) prog=/usr/bin/xz; args=(-1 -c "$input") ;;
        bzip2) prog=/bin/bzip2; args=(-c "$input") ;;
        gzip) prog=/bin/gzip; args=(-6 -c "$input") ;;
        grep) prog=/bin/grep; args=(-c -E 'word(1|2)[0-9] (alpha|beta)' "$input") ;;
        sed) prog=/bin/sed; args=(-E 's/([0-9]+) ([0-9]+)/\2 \1/' "$input") ;;
        sort) prog=/usr/bin/sort; args=(--parallel=1 -S 64M -k2,2n -k1,1n "$input") ;;
        sha256sum) prog=/usr/bin/sha256sum; args=("$input") ;;
        perl) prog=/usr/bin/perl; args=(-e 'my $s = 0; for (my $i = 1; $i <= 2000000; $i++) { $s += $i * $i % 7 } print "$s\n"') ;;
        bc) prog=/usr/bin/bc; args=(-l); STDIN=$bcin ;;
        *) return 1 ;;
    esac
    export STDIN
}
NAMES=(busybox-sha256 busybox-awk lua python gawk sqlite3 zstd xz bzip2 gzip grep sed sort sha256sum perl bc)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
csv=$OUT/results.csv
echo "program,native_s,qemu_s,dqemu_s,dqemu_over_qemu,dqemu_over_native,status" >"$csv"
printf "%-16s %10s %10s %10s %11s %13s  %s\n" "program" "native s" "qemu s" "dqemu s" "dqemu/qemu" "dqemu/native" "notes"
printf "%-16s %10s %10s %10s %11s %13s  %s\n" "-------" "--------" "------" "-------" "----------" "------------" "-----"
any_fail=0
log_q=0; log_n=0; passed=0
min_q=0; min_n=0 # the same over each configuration's fastest run (these VMs slow down for minutes at a time)
if [ $# -gt 0 ]; then NAMES=("$@"); fi
for name in "${NAMES[@]}"; do
    if ! workload "$name"; then printf "%-16s %s\n" "$name" "no such program here"; any_fail=1; continue; fi
    notes=()
    : >"$tmp/n.times"; : >"$tmp/q.times"; : >"$tmp/d.times"
    dq_ok=$have_dqemu; q_ok=1
    for ((i = 1; i <= RUNS; i++)); do
        read -r us rc < <(run_once "$tmp/n.out" "$prog" "${args[@]}")
        echo "$us" >>"$tmp/n.times"; n_rc=$rc
        read -r us rc < <(run_once "$tmp/q.out" "$QEMU" -L "$ROOT" "$ROOT$prog" "${args[@]}")
        echo "$us" >>"$tmp/q.times"; q_rc=$rc
        [ "$q_rc" -eq 0 ] || q_ok=0
        if [ "$dq_ok" -eq 1 ]; then
            read -r us rc < <(run_once "$tmp/d.out" "$DQEMU" -L "$ROOT" "$ROOT$prog" "${args[@]}")
            d_rc=$rc
            if [ "$d_rc" -ne "$q_rc" ] || ! cmp -s "$tmp/d.out" "$tmp/q.out"; then
                dq_ok=0
                if [ "$d_rc" -eq 124 ] || [ "$d_rc" -eq 137 ]; then notes+=("dqemu timed out after ${TIMEOUT}s")
                elif [ "$d_rc" -ne "$q_rc" ]; then notes+=("dqemu exit $d_rc, qemu exit $q_rc")
                else notes+=("dqemu output differs from qemu"); fi
                err=$(head -c 200 "$tmp/d.out.err" | tr '\n' ' ')
                [ -n "$err" ] && notes+=("stderr: $err")
            else
                echo "$us" >>"$tmp/d.times"
            fi
        fi
        if [ "$i" -eq 1 ] && ! cmp -s "$tmp/n.out" "$tmp/q.out"; then notes+=("native output differs from qemu"); fi
        if [ "$i" -eq 1 ] && [ ! -s "$tmp/q.out" ]; then notes+=("no output"); fi
        if [ "$i" -eq 1 ] && [ "$n_rc" -ne 0 ]; then notes+=("native exit $n_rc"); fi
    done
    [ "$q_ok" -eq 1 ] || notes+=("qemu failed (exit $q_rc: $(head -c 120 "$tmp/q.out.err" | tr '\n' ' '))")
    n_med=$(median <"$tmp/n.times"); q_med=$(median <"$tmp/q.times")
    if [ "$dq_ok" -eq 1 ] && [ "$q_ok" -eq 1 ]; then
        d_med=$(median <"$tmp/d.times")
        d_s=$(secs "$d_med"); r_q=$(ratio "$d_med" "$q_med"); r_n=$(ratio "$d_med" "$n_med"); status=ok
        read -r log_q log_n < <(awk -v lq="$log_q" -v ln="$log_n" -v d="$d_med" -v q="$q_med" -v n="$n_med" \
            'BEGIN { print lq + log(d / q), ln + log(d / n) }')
        read -r min_q min_n < <(awk -v lq="$min_q" -v ln="$min_n" -v d="$(minimum <"$tmp/d.times")" \
            -v q="$(minimum <"$tmp/q.times")" -v n="$(minimum <"$tmp/n.times")" 'BEGIN { print lq + log(d / q), ln + log(d / n) }')
        passed=$((passed + 1))
    else
        mark_failed
    fi
    print_row "$name" "$n_med" "$q_med" "$csv"
done
echo
if [ "$passed" -gt 0 ]; then
    awk -v lq="$log_q" -v ln="$log_n" -v n="$passed" \
        'BEGIN { printf "geometric mean over %d programs: dqemu/qemu %.2fx, dqemu/native %.2fx\n", n, exp(lq / n), exp(ln / n) }'
    awk -v lq="$min_q" -v ln="$min_n" -v n="$passed" \
        'BEGIN { printf "of the fastest runs:              dqemu/qemu %.2fx, dqemu/native %.2fx\n", exp(lq / n), exp(ln / n) }'
fi
echo "medians of $RUNS runs (wall clock; the second line compares each configuration's fastest run); results in $csv"
if [ "${STRICT:-0}" = 1 ] && [ "$any_fail" -ne 0 ]; then exit 1; fi
exit 0
