#!/usr/bin/env bash
# Locality-aware placement on a loopback cluster: bench/parallel/par_pairs (two pairs of threads handing messages to
# each other through their pair's page, created so that round-robin over 2 nodes splits both pairs) run on 1 node,
# on 2 nodes with round-robin, with placement = "auto", and with round-robin plus the guest's GROUP hints. The
# configurations alternate (RUNS rounds); per configuration the guest's own "us/round" (min, median) and, from
# --stats, the remote faults and the placement line of the last run. Every run's stdout must equal qemu-aarch64's
# (the hint does not change it). Nodes are pinned to CPU 0 and CPU 1 (1 core each).
#
#   bench/cluster/placement.sh          RUNS=5 ROUNDS=20 TRANSPORT=ucx bench/cluster/placement.sh
#
# Environment: RUNS (default 3), ROUNDS (thousands of rounds per pair, default 10), TRANSPORT (tcp or ucx, default
# tcp), DQEMU (default ./dqemu-native).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
export LC_ALL=C
RUNS=${RUNS:-3}
ROUNDS=${ROUNDS:-10}
TRANSPORT=${TRANSPORT:-tcp}
DQEMU=${DQEMU:-./dqemu-native}
[ -x "$DQEMU" ] || { echo "placement.sh: $DQEMU is missing; run ./build.sh" >&2; exit 1; }
command -v qemu-aarch64 >/dev/null || { echo "placement.sh: qemu-aarch64 not found (apt-get install qemu-user)" >&2; exit 1; }
src=bench/parallel/par_pairs.c
bin=build/bench/par_pairs.aarch64
mkdir -p build/bench
if [ ! -f "$bin" ] || [ "$src" -nt "$bin" ]; then
    aarch64-linux-gnu-gcc -O2 -static -pthread -o "$bin" "$src" || exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
port=$((20000 + RANDOM % 20000))
cluster() { # name nodes placement
    {
        printf '[cluster]\ntransport = "%s"\nplacement = "%s"\n' "$TRANSPORT" "$3"
        for ((i = 0; i < $2; i++)); do
            printf '[[node]]\nid = %d\naddress = "127.0.0.1:%d"\ncores = 1\ncpus = "%d"\n' "$i" $((port + i)) $((i % $(nproc)))
        done
    } > "$dir/$1.toml"
    port=$((port + 2))
}
cluster one 1 round-robin
cluster rr 2 round-robin
cluster auto 2 auto
configs=("one|1 node|" "rr|2 nodes, round-robin|" "auto|2 nodes, auto|" "rr|2 nodes, round-robin + hint|hint")
ref=$(qemu-aarch64 "$bin" "$ROUNDS" 2>/dev/null)
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
declare -A times faults place notes
for ((r = 0; r < RUNS; r++)); do
    for ((k = 0; k < ${#configs[@]}; k++)); do
        c=${configs[$(((k + r) % ${#configs[@]}))]}
        IFS='|' read -r file name hint <<< "$c"
        out=$(timeout 600 "$DQEMU" --cluster "$dir/$file.toml" --stats "$bin" "$ROUNDS" $hint 2> "$dir/err")
        [ "$out" == "$ref" ] || notes[$name]="OUTPUT DIFFERS"
        times[$name]+="$(grep -o '[0-9.]* us/round' "$dir/err" | cut -d' ' -f1) "
        faults[$name]=$(grep -o 'remote faults: read [0-9]*.*; write [0-9]*' "$dir/err" | awk '{s += $4 + $NF} END {print s + 0}')
        place[$name]=$(grep -o 'placement [a-z-]*: .*' "$dir/err" | head -1)
    done
done
printf '%-32s %12s %12s %10s  %s\n' configuration "min us/rnd" "median" faults "placement (last run)"
for c in "${configs[@]}"; do
    IFS='|' read -r _ name _ <<< "$c"
    read -ra v <<< "${times[$name]}"
    printf '%-32s %12s %12s %10s  %s %s\n' "$name" "$(printf '%s\n' "${v[@]}" | sort -g | head -1)" \
        "$(printf '%s\n' "${v[@]}" | median)" "${faults[$name]}" "${place[$name]:-}" "${notes[$name]:-}"
done
echo "$RUNS rounds alternating, $ROUNDS thousand rounds per pair, transport $TRANSPORT, $(nproc) host CPUs"
