#!/usr/bin/env bash
# The wire's own cost on this machine, to set beside the emulator's remote-fault latencies (--stats, sweep.sh):
#   - a plain TCP ping-pong between two processes on 127.0.0.1, 16-byte request and 4 KiB reply, both sides
#     sleeping in recv() and both sides polling (bench/wire/tcp_pingpong.c, built natively into
#     build/bench/tcp_pingpong);
#   - UCX's own ucx_perftest tag latency for 4 KiB messages, over shared memory (UCX_TLS=posix,self,cma) and over
#     TCP (UCX_TLS=tcp), as the emulator's ucx transport would use them. ucx_perftest reports one-way latency
#     (half a round trip); the lines below also give the round trip.
# Client and server are pinned to different CPUs (CLIENT_CPU, SERVER_CPU; defaults 0 and 1), as the cluster
# benchmarks pin node i to CPU i.
#
#   bench/wire/wire.sh
#   ROUNDS=50000 bench/wire/wire.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-20000}
CLIENT_CPU=${CLIENT_CPU:-0}
SERVER_CPU=${SERVER_CPU:-1}
PORT=${PORT:-39123}
for tool in gcc ucx_perftest taskset; do
    command -v "$tool" >/dev/null 2>&1 || { echo "wire.sh: '$tool' not found (./build.sh installs gcc and ucx-utils)" >&2; exit 1; }
done
mkdir -p build/bench
bin=build/bench/tcp_pingpong
if [ ! -x "$bin" ] || [ bench/wire/tcp_pingpong.c -nt "$bin" ]; then
    gcc -O2 -Wall -o "$bin" bench/wire/tcp_pingpong.c
fi
"$bin" "$ROUNDS" "$CLIENT_CPU" "$SERVER_CPU" "$PORT" block
"$bin" "$ROUNDS" "$CLIENT_CPU" "$SERVER_CPU" "$PORT" poll

# ucx_perftest: a server, then the client; "Final:" gives iterations, p50, average and overall one-way latency (us)
perftest() {
    local tls=$1 port=$((PORT + 1))
    UCX_TLS=$tls taskset -c "$SERVER_CPU" ucx_perftest -p "$port" >/dev/null 2>&1 &
    local server=$!
    local out="" tries=0
    while [ $tries -lt 50 ]; do
        if out=$(UCX_TLS=$tls taskset -c "$CLIENT_CPU" ucx_perftest 127.0.0.1 -p "$port" -t tag_lat -s 4096 -n "$ROUNDS" 2>&1); then break; fi
        tries=$((tries + 1)); sleep 0.1
    done
    wait "$server" 2>/dev/null || true
    local final
    final=$(printf '%s\n' "$out" | grep '^Final:' || true)
    if [ -z "$final" ]; then echo "wire.sh: ucx_perftest over $tls gave no result:" >&2; printf '%s\n' "$out" | tail -5 >&2; return 1; fi
    set -- $final
    printf 'ucx_perftest tag_lat 4 KiB over %s (CPUs %s/%s): %s messages, one way p50 %s us average %s us; round trip ~%.1f us\n' \
        "$tls" "$CLIENT_CPU" "$SERVER_CPU" "$2" "$3" "$4" "$(echo "2 * $4" | bc -l)"
}
perftest posix,self,cma
perftest tcp
