#!/usr/bin/env bash
# Thread scaling on one node: each bench/parallel guest runs with 1 and with 2 threads under
# ./dqemu-native (alternating, RUNS times each, default 5) and the median wall times and the
# speed-up are printed. Output must be identical for both thread counts.
#   bench/parallel/threads.sh            RUNS=7 bench/parallel/threads.sh
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
RUNS=${RUNS:-5}
DQEMU=${DQEMU:-./dqemu-native}
mkdir -p build/bench
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
printf '%-14s %10s %10s %9s  %s\n' guest "1 thread s" "2 threads s" speed-up notes
for src in bench/parallel/*.c; do
    name=$(basename "$src" .c)
    grep -q 'fixed thread count' "$src" && continue # par_pairs, par_prodcons: their argv[1] is not a thread count
    bin=build/bench/$name.aarch64
    if [ ! -f "$bin" ] || [ "$src" -nt "$bin" ]; then
        aarch64-linux-gnu-gcc -O2 -static -pthread -o "$bin" "$src" || { echo "$name: build failed"; continue; }
    fi
    t1=(); t2=(); note=""
    ref=$("$DQEMU" "$bin" 1)
    for ((i = 0; i < RUNS; i++)); do
        s=$(now); out1=$("$DQEMU" "$bin" 1); e=$(now); t1+=("$(echo "$e - $s" | bc)")
        s=$(now); out2=$("$DQEMU" "$bin" 2); e=$(now); t2+=("$(echo "$e - $s" | bc)")
        [ "$out1" == "$ref" ] && [ "$out2" == "$ref" ] || note="OUTPUT DIFFERS"
    done
    m1=$(printf '%s\n' "${t1[@]}" | median); m2=$(printf '%s\n' "${t2[@]}" | median)
    printf '%-14s %10.3f %10.3f %8.2fx  %s\n' "$name" "$m1" "$m2" "$(echo "$m1 / $m2" | bc -l)" "$note"
done
echo "medians of $RUNS runs each, alternating; $(nproc) host CPUs"
