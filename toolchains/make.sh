#!/usr/bin/env bash
# Debian's arm64 GNU make (and libc6) in build/make/sysroot/, for tests/Dqemu.Tests/Processes/MakeTests.cs: parallel
# jobs, a jobserver and recursive make. See arm64-sysroot.sh.
exec "$(dirname "$0")/arm64-sysroot.sh" make usr/bin/make make
