// A guest with one hot function, for the --perf-map tests (tests/Dqemu.Tests/PerfMapTests.cs): perf report on the
// emulator must name hot_spin, and the map must name main and hot_spin by symbol. argv[1] sets the rounds; the
// default is short, for the comparisons with qemu-aarch64 (GuestProgramTests, DynamicGuestTests).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

// noipa: no clone (hot_spin.constprop.0) nor inlining, so the loop runs under this symbol
uint64_t __attribute__((noipa)) hot_spin(uint64_t rounds, uint64_t seed) {
    uint64_t x = seed;
    for (uint64_t i = 0; i < rounds; i++) x = x * 6364136223846793005ull + (x >> 29) + i;
    return x;
}

int main(int argc, char **argv) {
    uint64_t rounds = argc > 1 ? strtoull(argv[1], 0, 10) : 100000;
    uint64_t x = hot_spin(rounds, (uint64_t)argc);
    printf("hot_spin(%llu) = %016llx\n", (unsigned long long)rounds, (unsigned long long)x);
    puts("done");
    return 0;
}
