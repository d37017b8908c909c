#!/usr/bin/env bash
# Cluster scaling sweep: wall time of each guest × node count × guest thread count, every configuration run as a
# local loopback cluster of ./dqemu-native processes (node 0 starts its workers itself), each node pinned to its
# own host CPU (node i on CPU i mod nproc, through the cluster file's `cpus`; CORES>1 gives node i CORES CPUs).
# Prints, per configuration, the median (and min/max) wall time of RUNS runs and the speed-up relative to the
# baseline: 1 node, 1 guest thread, pinned to one CPU. The runs alternate between configurations (round r starts
# at configuration r mod count) so that noise from the rest of the machine spreads evenly. Every run's stdout
# and exit status must equal the reference (qemu-aarch64's when it is installed, else a plain one-node run);
# a configuration that differs is flagged in the notes column.
#
# Guests are bench/parallel/<name>.c, built static for AArch64 into build/bench/<name>.aarch64 when missing or
# older than the source, and take their thread count as argv[1] (the total work stays the same).
#
#   bench/cluster/sweep.sh
#   GUESTS="par_mandel" NODES="1 2" THREADS="1 2" RUNS=3 bench/cluster/sweep.sh
#
# Environment: GUESTS (default par_mandel), NODES (default "1 2 3"), THREADS (default "1 2 4"), RUNS (default 5),
# CORES (cores per node, default 1), PLACEMENT (default round-robin), DQEMU (default ./dqemu-native),
# TIMEOUT (seconds per run, default 300). Cluster files go to a temporary directory that is removed at the end.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

GUESTS=${GUESTS:-par_mandel}
NODES=${NODES:-1 2 3}
THREADS=${THREADS:-1 2 4}
RUNS=${RUNS:-5}
CORES=${CORES:-1}
PLACEMENT=${PLACEMENT:-round-robin}
DQEMU=${DQEMU:-./dqemu-native}
TIMEOUT=${TIMEOUT:-300}
NCPU=$(nproc)

[ -x "$DQEMU" ] || { echo "sweep.sh: $DQEMU is missing; run ./build.sh" >&2; exit 1; }
for tool in bc timeout; do
    command -v "$tool" >/dev/null 2>&1 || { echo "sweep.sh: '$tool' not found" >&2; exit 1; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/dqemu-sweep.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
# ports of this sweep: BASE .. BASE+max(nodes)-1 (the transport binds with SO_REUSEADDR, so runs can reuse them)
BASE=$((20000 + ($$ % 4000) * 8))

now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# cluster_file <nodes>: writes $TMP/cluster-<nodes>.toml and prints its path
cluster_file() {
    local n=$1 f="$TMP/cluster-$1.toml" i c cpus
    {
        printf '[cluster]\ntransport = "tcp"\nplacement = "%s"\n' "$PLACEMENT"
        for ((i = 0; i < n; i++)); do
            cpus=""
            for ((c = 0; c < CORES; c++)); do cpus+="${cpus:+,}$(((i * CORES + c) % NCPU))"; done
            printf '[[node]]\nid = %d\naddress = "127.0.0.1:%d"\ncores = %d\ncpus = "%s"\n' "$i" $((BASE + i)) "$CORES" "$cpus"
        done
    } >"$f"
    echo "$f"
}

# the configurations: guest|nodes|threads, the baseline 1|1 always included
configs=()
for g in $GUESTS; do
    src=bench/parallel/$g.c
    bin=build/bench/$g.aarch64
    [ -f "$src" ] || { echo "sweep.sh: $src not found" >&2; exit 1; }
    if [ ! -f "$bin" ] || [ "$src" -nt "$bin" ]; then
        mkdir -p build/bench
        aarch64-linux-gnu-gcc -O2 -static -pthread -o "$bin" "$src" || { echo "sweep.sh: building $g failed" >&2; exit 1; }
    fi
    configs+=("$g|1|1")
    for n in $NODES; do
        for t in $THREADS; do
            [ "$n|$t" = "1|1" ] || configs+=("$g|$n|$t")
        done
    done
done

declare -A times ref_out ref_rc note
for g in $GUESTS; do
    bin=build/bench/$g.aarch64
    if command -v qemu-aarch64 >/dev/null 2>&1; then
        ref_out[$g]=$(timeout -k 5 "$TIMEOUT" qemu-aarch64 "$bin" 1); ref_rc[$g]=$?
    else
        ref_out[$g]=$(timeout -k 5 "$TIMEOUT" "$DQEMU" "$bin" 1); ref_rc[$g]=$?
    fi
done
for n in $NODES 1; do [ -f "$TMP/cluster-$n.toml" ] || cluster_file "$n" >/dev/null; done

count=${#configs[@]}
echo "sweep: ${count} configurations × $RUNS runs ($NCPU host CPUs, $CORES core(s) per node, placement $PLACEMENT)"
for ((r = 0; r < RUNS; r++)); do
    for ((k = 0; k < count; k++)); do
        cfg=${configs[$(((r + k) % count))]}
        IFS='|' read -r g n t <<<"$cfg"
        s=$(now)
        out=$(timeout -k 5 "$TIMEOUT" "$DQEMU" --cluster "$TMP/cluster-$n.toml" "build/bench/$g.aarch64" "$t" 2>"$TMP/stderr")
        rc=$?
        e=$(now)
        times[$cfg]+="$(echo "$e - $s" | bc) "
        if [ "$rc" != "${ref_rc[$g]}" ] || [ "$out" != "${ref_out[$g]}" ]; then
            note[$cfg]="DIFFERS (exit $rc): $(head -c 200 "$TMP/stderr" | tr '\n' ' ')"
        fi
    done
done

printf '%-12s %5s %7s %10s %10s %10s %9s  %s\n' guest nodes threads "median s" "min s" "max s" speed-up notes
for cfg in "${configs[@]}"; do
    IFS='|' read -r g n t <<<"$cfg"
    # shellcheck disable=SC2086
    list=$(printf '%s\n' ${times[$cfg]})
    m=$(echo "$list" | median)
    lo=$(echo "$list" | sort -g | head -1)
    hi=$(echo "$list" | sort -g | tail -1)
    key="$g|1|1"
    # shellcheck disable=SC2086
    base=$(printf "%s\n" ${times[$key]} | median)
    printf '%-12s %5d %7d %10.3f %10.3f %10.3f %8.2fx  %s\n' "$g" "$n" "$t" "$m" "$lo" "$hi" "$(echo "$base / $m" | bc -l)" "${note[$cfg]:-}"
done
echo "medians of $RUNS alternating runs; speed-up = median(1 node, 1 thread, CPU 0) / median; node i pinned to CPU i mod $NCPU"
