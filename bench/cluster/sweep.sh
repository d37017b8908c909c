#!/usr/bin/env bash
# Cluster scaling sweep: wall time of each guest × transport × node count × guest thread count, every configuration
# run as a local loopback cluster of ./dqemu-native processes (node 0 starts its workers itself), each node pinned
# to its own host CPU (node i on CPU i mod nproc, through the cluster file's `cpus`; CORES>1 gives node i CORES CPUs).
# Prints, per configuration, the median (and min/max) wall time of RUNS runs, the speed-up relative to the
# baseline (1 node, 1 guest thread, pinned to one CPU) and, for more than one node, the ratio to the 1-node run with
# the same thread count ("2 nodes vs 1 node"). The runs alternate between configurations (round r starts at
# configuration r mod count) so that noise from the rest of the machine spreads evenly. Every run's stdout and exit
# status must equal the reference (qemu-aarch64's when it is installed, else a plain one-node run); a configuration
# that differs is flagged in the notes column.
#
# Transports: every configuration of more than one node runs once per transport in TRANSPORTS (the cluster file
# gets `transport = "<t>"`). A single node opens no connection, so the 1-node configurations run once, with a
# cluster file that says "tcp", and are shown with transport "-" (in the CSV too). The 1-node runs with every
# thread count in THREADS are always included (the "vs 1 node" ratio needs them), whatever NODES says. A transport
# this binary does not have (exit status 78 from the cluster file check) is reported in the notes column as
# "transport not available: <first stderr line>", its remaining runs are skipped and the sweep carries on.
#
# Every run gets --stats. From node 0's per-node blocks on stderr, lines like
#     remote faults: read 1234 mean 4.1 us p50 3.5 p99 9.0 max 51.2; write 567 mean 5.0 us p50 4.1 p99 11.0 max 60.3
# give per run: the remote faults of all nodes (reads + writes), their count-weighted mean wait (us) and the largest
# p99 of any node's reads or writes (us, over kinds with at least one fault); the table shows the median over runs
# ("-" when a run printed no such lines: a binary without them; "0 - -" when there were no remote faults). The
# guest's own timing line on stderr, "<name>: ... <value> us/<unit>" (the bench/parallel guests print one), gives
# the guest-metric column (median over runs).
#
# Guests are bench/parallel/<name>.c, built static for AArch64 into build/bench/<name>.aarch64 when missing or
# older than the source, and take their thread count as argv[1] (the total work stays the same).
#
#   bench/cluster/sweep.sh
#   GUESTS="par_stencil" TRANSPORTS="tcp" NODES="1 2" THREADS="1 2" RUNS=3 bench/cluster/sweep.sh
#   CSV=/tmp/sweep.csv RUNS=1 GUESTS="par_pingpong" THREADS="2" bench/cluster/sweep.sh
#
# Environment: GUESTS (default "par_mandel par_stencil par_pingpong par_table"), TRANSPORTS (default "tcp ucx"),
# NODES (default "1 2"), THREADS (default "1 2"), RUNS (default 5), CORES (cores per node, default 1), PLACEMENT
# (default round-robin), DQEMU (default ./dqemu-native), TIMEOUT (seconds per run, default 300), CSV (a path: one
# row per run, guest,transport,nodes,threads,run,wall_s,faults,fault_mean_us,fault_p99_us,guest_metric,ok, with
# empty fields where a value is missing; ok is 1 when stdout and exit status equal the reference), CLUSTER_EXTRA
# (lines added to every cluster file's [cluster] table, e.g. "split_pages = false"; \n separates lines). Cluster files
# go to a temporary directory that is removed at the end.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
export LC_ALL=C

GUESTS=${GUESTS:-par_mandel par_stencil par_pingpong par_table}
TRANSPORTS=${TRANSPORTS:-tcp ucx}
NODES=${NODES:-1 2}
THREADS=${THREADS:-1 2}
RUNS=${RUNS:-5}
CORES=${CORES:-1}
PLACEMENT=${PLACEMENT:-round-robin}
DQEMU=${DQEMU:-./dqemu-native}
TIMEOUT=${TIMEOUT:-300}
CSV=${CSV:-}
CLUSTER_EXTRA=${CLUSTER_EXTRA:-}
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
# median_of "<space-separated values>": the median, or "-" when there are none
median_of() {
    # shellcheck disable=SC2086
    [ -n "${1// /}" ] && printf '%s\n' $1 | median || echo -
}
# fmt <printf format> <value>: the value formatted, or "-" when it is missing
fmt() { if [ "$2" = "-" ] || [ -z "$2" ]; then echo -; else printf "$1" "$2"; fi; }

# cluster_file <transport> <nodes>: writes $TMP/cluster-<transport>-<nodes>.toml and prints its path
cluster_file() {
    local tr=$1 n=$2 f="$TMP/cluster-$1-$2.toml" i c cpus
    {
        printf '[cluster]\ntransport = "%s"\nplacement = "%s"\n' "$tr" "$PLACEMENT"
        [ -z "$CLUSTER_EXTRA" ] || printf '%b\n' "$CLUSTER_EXTRA"
        for ((i = 0; i < n; i++)); do
            cpus=""
            for ((c = 0; c < CORES; c++)); do cpus+="${cpus:+,}$(((i * CORES + c) % NCPU))"; done
            printf '[[node]]\nid = %d\naddress = "127.0.0.1:%d"\ncores = %d\ncpus = "%s"\n' "$i" $((BASE + i)) "$CORES" "$cpus"
        done
    } >"$f"
    echo "$f"
}

# fault_stats <stderr file>: "faults mean-us p99-us" from the per-node "remote faults:" lines, "- - -" without any
fault_stats() {
    awk '
        /^[ \t]*remote faults: read / {
            seen = 1
            line = $0
            sub(/^.*remote faults: /, "", line)
            gsub(/;/, " ", line)
            n = split(line, f, " ")
            c = 0
            for (i = 1; i < n; i++) {
                if (f[i] == "read" || f[i] == "write") c = f[i + 1] + 0
                else if (f[i] == "mean") { total += c; weighted += c * f[i + 1] }
                else if (f[i] == "p99" && c > 0 && f[i + 1] + 0 > p99) p99 = f[i + 1] + 0
            }
        }
        END {
            if (!seen) print "- - -"
            else if (total == 0) print "0 - -"
            else printf "%d %.1f %.1f\n", total, weighted / total, p99
        }' "$1"
}

# guest_metric <stderr file>: "value unit" from the guest's last "<name>: ... <value> us/<unit>" line, or nothing
guest_metric() {
    sed -nE 's/^[A-Za-z_][A-Za-z0-9_]*: .*[ ,]([0-9]+(\.[0-9]+)?) us\/([A-Za-z]+)[[:space:]]*$/\1 \3/p' "$1" | tail -1
}

# the configurations: guest|transport|nodes|threads, transport "-" for one node; 1 node with every thread count
# (the baseline 1|1 first) always included
configs=()
for g in $GUESTS; do
    src=bench/parallel/$g.c
    bin=build/bench/$g.aarch64
    [ -f "$src" ] || { echo "sweep.sh: $src not found" >&2; exit 1; }
    if [ ! -f "$bin" ] || [ "$src" -nt "$bin" ]; then
        mkdir -p build/bench
        aarch64-linux-gnu-gcc -O2 -static -pthread -o "$bin" "$src" || { echo "sweep.sh: building $g failed" >&2; exit 1; }
    fi
    configs+=("$g|-|1|1")
    for t in $THREADS; do
        [ "$t" = 1 ] || configs+=("$g|-|1|$t")
    done
    for tr in $TRANSPORTS; do
        for n in $NODES; do
            [ "$n" = 1 ] && continue
            for t in $THREADS; do configs+=("$g|$tr|$n|$t"); done
        done
    done
done

declare -A times faults fmean fp99 metric unit ref_out ref_rc note unavailable
for g in $GUESTS; do
    bin=build/bench/$g.aarch64
    if command -v qemu-aarch64 >/dev/null 2>&1; then
        ref_out[$g]=$(timeout -k 5 "$TIMEOUT" qemu-aarch64 "$bin" 1 2>/dev/null); ref_rc[$g]=$?
    else
        ref_out[$g]=$(timeout -k 5 "$TIMEOUT" "$DQEMU" "$bin" 1 2>/dev/null); ref_rc[$g]=$?
    fi
done
cluster_file tcp 1 >/dev/null
for tr in $TRANSPORTS; do
    for n in $NODES; do [ "$n" = 1 ] || cluster_file "$tr" "$n" >/dev/null; done
done
[ -z "$CSV" ] || echo "guest,transport,nodes,threads,run,wall_s,faults,fault_mean_us,fault_p99_us,guest_metric,ok" >"$CSV"

count=${#configs[@]}
echo "sweep: ${count} configurations × $RUNS runs ($NCPU host CPUs, $CORES core(s) per node, placement $PLACEMENT, transports $TRANSPORTS)"
for ((r = 0; r < RUNS; r++)); do
    for ((k = 0; k < count; k++)); do
        cfg=${configs[$(((r + k) % count))]}
        IFS='|' read -r g tr n t <<<"$cfg"
        [ -n "${unavailable[$tr]:-}" ] && continue
        if [ "$n" = 1 ]; then file=$TMP/cluster-tcp-1.toml; else file=$TMP/cluster-$tr-$n.toml; fi
        s=$(now)
        out=$(timeout -k 5 "$TIMEOUT" "$DQEMU" --cluster "$file" --stats "build/bench/$g.aarch64" "$t" 2>"$TMP/stderr")
        rc=$?
        e=$(now)
        wall=$(echo "$e - $s" | bc)
        ok=1
        fs="- - -" gm=""
        if [ "$rc" = 78 ] && [ "${ref_rc[$g]}" != 78 ]; then
            # the cluster file was refused: with a transport other than tcp, that transport is not in this binary
            ok=0
            if [ "$tr" != "-" ] && [ "$tr" != tcp ]; then
                unavailable[$tr]=1
                note[$cfg]="transport not available: $(head -1 "$TMP/stderr")"
                for c in "${configs[@]}"; do
                    IFS='|' read -r _ ctr _ _ <<<"$c"
                    [ "$ctr" = "$tr" ] && note[$c]=${note[$cfg]}
                done
            else
                note[$cfg]="cluster file refused (exit 78): $(head -1 "$TMP/stderr")"
            fi
        else
            times[$cfg]+="$wall "
            read -r fc fm fp <<<"$(fault_stats "$TMP/stderr")"
            fs="$fc $fm $fp"
            [ "$fc" = "-" ] || faults[$cfg]+="$fc "
            [ "$fm" = "-" ] || fmean[$cfg]+="$fm "
            [ "$fp" = "-" ] || fp99[$cfg]+="$fp "
            gm=$(guest_metric "$TMP/stderr")
            if [ -n "$gm" ]; then
                metric[$cfg]+="${gm% *} "
                unit[$cfg]=${gm#* }
            fi
            if [ "$rc" != "${ref_rc[$g]}" ] || [ "$out" != "${ref_out[$g]}" ]; then
                ok=0
                note[$cfg]="DIFFERS (exit $rc): $(grep -v -E '^[[:space:]]|^dqemu-native (cluster )?stats' "$TMP/stderr" | head -c 200 | tr '\n' ' ')"
            fi
        fi
        if [ -n "$CSV" ]; then
            read -r fc fm fp <<<"$fs"
            [ "$fc" = "-" ] && fc=""
            [ "$fm" = "-" ] && fm=""
            [ "$fp" = "-" ] && fp=""
            printf '%s,%s,%s,%s,%d,%.3f,%s,%s,%s,%s,%d\n' "$g" "$tr" "$n" "$t" $((r + 1)) "$wall" "$fc" "$fm" "$fp" "${gm% *}" "$ok" >>"$CSV"
        fi
    done
done

printf '%-12s %9s %5s %7s %9s %9s %9s %9s %9s %9s %13s %12s %20s  %s\n' guest transport nodes threads median-s min-s \
    max-s speed-up vs-1-node faults fault-mean-us fault-p99-us guest-metric notes
for cfg in "${configs[@]}"; do
    IFS='|' read -r g tr n t <<<"$cfg"
    m=$(median_of "${times[$cfg]:-}")
    lo=-; hi=-; sp=-; vs=-
    if [ "$m" != "-" ]; then
        # shellcheck disable=SC2086
        lo=$(printf '%s\n' ${times[$cfg]} | sort -g | head -1)
        # shellcheck disable=SC2086
        hi=$(printf '%s\n' ${times[$cfg]} | sort -g | tail -1)
        base=$(median_of "${times[$g|-|1|1]:-}")
        [ "$base" = "-" ] || sp=$(printf '%.2fx' "$(echo "$base / $m" | bc -l)")
        if [ "$n" != 1 ]; then
            same=$(median_of "${times[$g|-|1|$t]:-}")
            [ "$same" = "-" ] || vs=$(printf '%.2fx' "$(echo "$same / $m" | bc -l)")
        fi
    fi
    gm=$(median_of "${metric[$cfg]:-}")
    [ "$gm" = "-" ] || gm="$(printf '%.1f' "$gm") us/${unit[$cfg]}"
    printf '%-12s %9s %5d %7d %9s %9s %9s %9s %9s %9s %13s %12s %20s  %s\n' "$g" "$tr" "$n" "$t" "$(fmt %.3f "$m")" \
        "$(fmt %.3f "$lo")" "$(fmt %.3f "$hi")" "$sp" "$vs" "$(fmt %.0f "$(median_of "${faults[$cfg]:-}")")" \
        "$(fmt %.1f "$(median_of "${fmean[$cfg]:-}")")" "$(fmt %.1f "$(median_of "${fp99[$cfg]:-}")")" "$gm" "${note[$cfg]:-}"
done
echo "medians of $RUNS alternating runs; speed-up = median(1 node, 1 thread, CPU 0) / median; vs-1-node = median(1 node," \
    "same threads) / median; node i pinned to CPU i mod $NCPU; 1-node runs (transport -) use a tcp cluster file"
echo "faults: remote faults of all nodes per run; fault-mean-us: their mean wait; fault-p99-us: the largest per-node p99" \
    "(reads or writes); guest-metric: the guest's own stderr timing"
[ -z "$CSV" ] || echo "one row per run in $CSV"
