#!/usr/bin/env bash
# Debian's arm64 LuaJIT (the luajit package and its closure: libluajit-5.1-2, its common Lua modules, libc6,
# libgcc-s1) in build/luajit/sysroot/, for tests/Dqemu.Tests/Jit/LuaJitTests.cs: a guest JIT that writes machine code
# and runs it. See arm64-sysroot.sh.
exec "$(dirname "$0")/arm64-sysroot.sh" luajit usr/bin/luajit luajit
