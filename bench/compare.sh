#!/usr/bin/env bash
# Compares run times of the benchmark guests (bench/guests/*.c):
#   native x86-64 build  vs  qemu-aarch64  vs  ./dqemu-native
# Each is run RUNS times (default 5), alternating between the three, and the median
# wall-clock time is reported. Outputs are checked: dqemu-native must print exactly
# what qemu-aarch64 prints (and exit the same way), otherwise its row says FAIL;
# a native output that differs is flagged in the notes column.
#
#   bench/compare.sh [guest-name ...]     (default: every bench guest)
#   RUNS=3 TIMEOUT=600 bench/compare.sh sha256 nbody
#   DQEMU=path/to/other-binary bench/compare.sh; STRICT=1 makes a FAIL row exit 1
#
# Results also go to build/bench/results.csv.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

source bench/timing.sh
bench_tools || exit 1
toolchains/build-guests.sh >/dev/null || { echo "building guests failed" >&2; exit 1; }

if [ $# -gt 0 ]; then
    names=("$@")
else
    names=()
    for f in bench/guests/*.c; do names+=("$(basename "$f" .c)"); done
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

csv=build/bench/results.csv
echo "guest,native_s,qemu_s,dqemu_s,dqemu_over_qemu,dqemu_over_native,status" >"$csv"

printf "%-16s %10s %10s %10s %11s %13s  %s\n" "guest" "native s" "qemu s" "dqemu s" "dqemu/qemu" "dqemu/native" "notes"
printf "%-16s %10s %10s %10s %11s %13s  %s\n" "-----" "--------" "------" "-------" "----------" "------------" "-----"
any_fail=0
for name in "${names[@]}"; do
    nat=build/bench/$name.x86_64
    arm=build/bench/$name.aarch64
    if [ ! -x "$nat" ] || [ ! -f "$arm" ]; then
        printf "%-16s %s\n" "$name" "missing build/bench/$name.{x86_64,aarch64}"
        any_fail=1
        continue
    fi
    notes=()
    : >"$tmp/n.times"; : >"$tmp/q.times"; : >"$tmp/d.times"
    dq_ok=$have_dqemu
    q_ok=1
    for ((i = 1; i <= RUNS; i++)); do
        read -r us rc < <(run_once "$tmp/n.out" "$nat")
        echo "$us" >>"$tmp/n.times"
        n_rc=$rc
        read -r us rc < <(run_once "$tmp/q.out" "$QEMU" "$arm")
        echo "$us" >>"$tmp/q.times"
        q_rc=$rc
        if [ "$q_rc" -ne 0 ]; then q_ok=0; fi
        if [ "$dq_ok" -eq 1 ]; then
            read -r us rc < <(run_once "$tmp/d.out" "$DQEMU" "$arm")
            d_rc=$rc
            if [ "$d_rc" -ne "$q_rc" ] || ! cmp -s "$tmp/d.out" "$tmp/q.out"; then
                dq_ok=0
                if [ "$d_rc" -eq 124 ] || [ "$d_rc" -eq 137 ]; then
                    notes+=("dqemu timed out after ${TIMEOUT}s")
                elif [ "$d_rc" -ne "$q_rc" ]; then
                    notes+=("dqemu exit $d_rc, qemu exit $q_rc")
                else
                    notes+=("dqemu output differs from qemu")
                fi
                err=$(head -c 200 "$tmp/d.out.err" | tr '\n' ' ')
                [ -n "$err" ] && notes+=("stderr: $err")
            else
                echo "$us" >>"$tmp/d.times"
            fi
        fi
        if [ "$i" -eq 1 ] && ! cmp -s "$tmp/n.out" "$tmp/q.out"; then
            notes+=("native output differs from qemu")
        fi
        if [ "$i" -eq 1 ] && [ "$n_rc" -ne 0 ]; then notes+=("native exit $n_rc"); fi
    done
    [ "$q_ok" -eq 1 ] || notes+=("qemu failed (exit $q_rc)")
    n_med=$(median <"$tmp/n.times")
    q_med=$(median <"$tmp/q.times")
    if [ "$dq_ok" -eq 1 ]; then
        d_med=$(median <"$tmp/d.times")
        d_s=$(secs "$d_med"); r_q=$(ratio "$d_med" "$q_med"); r_n=$(ratio "$d_med" "$n_med")
        status=ok
    else
        mark_failed
    fi
    print_row "$name" "$n_med" "$q_med" "$csv"
done
echo
echo "medians of $RUNS runs (wall clock); results in $csv"
if [ "${STRICT:-0}" = 1 ] && [ "$any_fail" -ne 0 ]; then exit 1; fi
exit 0
