#!/usr/bin/env bash
# Debian's arm64 Python (python3.11-minimal: the interpreter and the standard library's core, with its closure) in
# build/python/sysroot/, for tests/Dqemu.Tests/Processes/PythonSubprocessTests.cs. See arm64-sysroot.sh.
exec "$(dirname "$0")/arm64-sysroot.sh" python usr/bin/python3.11 python3.11-minimal
