#!/usr/bin/env bash
# Debian's arm64 OpenSSL command (openssl, libssl3 with libcrypto, libc6) in build/openssl/sysroot/, for
# tests/Dqemu.Tests/Jit/OpenSslTests.cs: libcrypto's AES, SHA and PMULL code paths, chosen from AT_HWCAP. See
# arm64-sysroot.sh.
exec "$(dirname "$0")/arm64-sysroot.sh" openssl usr/bin/openssl openssl
