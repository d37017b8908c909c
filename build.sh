#!/usr/bin/env bash
# dqemu-native build entry point.
#   ./build.sh [build]   install missing tools, publish the NativeAOT binary to ./dqemu-native, build guests
#   ./build.sh run       build, then run the demo guest (build/guests/demo) under ./dqemu-native
#   ./build.sh test      build, then run the xunit tests (tests/Dqemu.Tests)
#   ./build.sh bench     build, then bench/compare.sh (native vs qemu-aarch64 vs dqemu-native on bench/guests) and
#                        bench/realprograms.sh (the same on 16 real Debian programs, fetched by toolchains/realprograms.sh)
#   ./build.sh bench parsec [sweep options]
#                        build, then the PARSEC evaluation (bench/Dqemu.Sweep): the one-node comparison with
#                        native and qemu-aarch64, then the cluster sweep; CSV, SVG plots and tables in build/sweep/,
#                        then README's PARSEC tables from them (copies in docs/eval/<run>/)
#   ./build.sh clean     remove build outputs
set -euo pipefail
cd "$(dirname "$0")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

need_dotnet() {
    if ! command -v dotnet >/dev/null 2>&1; then
        echo "error: 'dotnet' (.NET 10 SDK) not found on PATH" >&2
        exit 1
    fi
}

do_build() {
    toolchains/install.sh
    need_dotnet
    echo "== dotnet publish src/Runtime (NativeAOT)"
    dotnet publish src/Runtime/Runtime.csproj -c Release -o out/ --nologo
    if [ ! -f out/dqemu-native ]; then
        echo "error: out/dqemu-native was not produced by dotnet publish" >&2
        exit 1
    fi
    cp -f out/dqemu-native ./dqemu-native.tmp
    mv -f ./dqemu-native.tmp ./dqemu-native
    chmod +x ./dqemu-native
    # its symbols beside it, where gdb finds them through the binary's debuglink (the cluster tests print native
    # stacks of a run that timed out: tests/Dqemu.Tests/Cluster/ClusterDiagnosis.cs)
    if [ -f out/dqemu-native.dbg ]; then
        cp -f out/dqemu-native.dbg ./dqemu-native.dbg.tmp
        mv -f ./dqemu-native.dbg.tmp ./dqemu-native.dbg
    fi
    echo "== guests"
    toolchains/build-guests.sh
    echo "== PARSEC (bench/parsec/build.sh; sources from \$PARSEC_HOME, default ../shared/parsec)"
    bench/parsec/build.sh
}

do_clean() {
    rm -rf out build ./dqemu-native ./dqemu-native.tmp ./dqemu-native.dbg ./dqemu-native.dbg.tmp
    find src tests bench -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} + 2>/dev/null || true
    echo "clean"
}

cmd=${1:-build}
case "$cmd" in
    build)
        do_build
        ;;
    run)
        do_build
        echo "== ./dqemu-native build/guests/demo hello world"
        set +e
        ./dqemu-native build/guests/demo hello world
        rc=$?
        set -e
        echo "== exit status $rc"
        [ $rc -eq 0 ] || exit $rc
        # the same binary as a 2-node cluster on this machine: node 0 starts node 1 itself
        port=$((20000 + $$ % 20000))
        printf '[cluster]\ntransport = "tcp"\nplacement = "round-robin"\n' > build/demo-cluster.toml
        for n in 0 1; do
            printf '[[node]]\nid = %d\naddress = "127.0.0.1:%d"\ncores = 2\n' $n $((port + n)) >> build/demo-cluster.toml
        done
        echo "== ./dqemu-native --cluster build/demo-cluster.toml --stats build/guests/cluster_demo   (2 nodes, 4 guest threads)"
        set +e
        ./dqemu-native --cluster build/demo-cluster.toml --stats build/guests/cluster_demo
        rc=$?
        set -e
        echo "== exit status $rc"
        exit $rc
        ;;
    test)
        do_build
        echo "== dotnet test tests/Dqemu.Tests"
        # The log is kept and its failures are printed again at the end: a CI shows only the tail of a long run.
        mkdir -p build
        set +e
        dotnet test tests/Dqemu.Tests/Dqemu.Tests.csproj -c Release --nologo \
            --logger "console;verbosity=normal" 2>&1 | tee build/test.log
        rc=${PIPESTATUS[0]}
        set -e
        if [ "$rc" -ne 0 ]; then
            echo "== failed tests (whole log: build/test.log)"
            awk '/^  Failed /{on=1; n=0} /^  Passed /{on=0} on && n++ < 40' build/test.log
            echo "== dotnet test exit status $rc"
        fi
        exit $rc
        ;;
    bench)
        do_build
        if [ "${2:-}" = parsec ]; then
            shift 2
            out=build/sweep/$(date +%Y-%m-%d-%H%M)
            rc=0
            dotnet run -c Release --project bench/Dqemu.Sweep -- --compare --out "$out" "$@" || rc=$?
            [ "$rc" -le 1 ] || exit "$rc"   # 1: a run failed or differed (kept in the tables); else bad options or tools
            dotnet run -c Release --project bench/Dqemu.Sweep -- --out "$out" "$@" || rc=$?
            [ "$rc" -le 1 ] || exit "$rc"
            # README's PARSEC tables and docs/eval/<run>/ from what the two wrote
            dotnet run -c Release --project bench/Dqemu.Sweep -- --readme "$out"
            exit "$rc"
        else
            rc=0
            bench/compare.sh || rc=$?
            bench/realprograms.sh || rc=$?
            exit "$rc"
        fi
        ;;
    clean)
        do_clean
        ;;
    -h|--help|help)
        # the usage header: the comment lines after the shebang
        awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
        ;;
    *)
        echo "usage: $0 [build|run|test|bench|clean]" >&2
        exit 2
        ;;
esac
