// Mappings the guest asks for above 1 TiB, below the 48-bit user limit: MAP_FIXED, MAP_FIXED_NOREPLACE and a plain
// hint, each written and read back, mprotect'ed and unmapped; and where Linux refuses (at and above 2^48) the error.
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static void try_map(const char *name, uintptr_t addr, int flags) {
    size_t len = 3 * 4096;
    void *p = mmap((void *)addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    if (p == MAP_FAILED) {
        printf("%-24s %#lx: %s\n", name, (unsigned long)addr, strerror(errno));
        return;
    }
    volatile uint64_t *q = p;
    q[0] = 0x1122334455667788ULL;
    q[512] = addr;
    q[2 * 512 + 511] = ~(uint64_t)addr;
    int ok = q[0] == 0x1122334455667788ULL && q[512] == addr && q[2 * 512 + 511] == ~(uint64_t)addr;
    int prot = mprotect(p, 4096, PROT_READ);
    int un = munmap(p, len);
    printf("%-24s %#lx: %s, data %s, mprotect %d, munmap %d\n", name, (unsigned long)addr,
           p == (void *)addr ? "at the address" : "elsewhere", ok ? "ok" : "BAD", prot, un);
}

int main(void) {
    try_map("fixed 1 TiB", 1UL << 40, MAP_FIXED);
    try_map("fixed 4 TiB + 64 KiB", (1UL << 42) + 0x10000, MAP_FIXED);
    try_map("fixed_noreplace 16 TiB", 1UL << 44, MAP_FIXED_NOREPLACE);
    try_map("hint 2 TiB", 2UL << 40, 0);
    try_map("fixed 2^48", 1UL << 48, MAP_FIXED);
    try_map("fixed 2^48 - 4 KiB", (1UL << 48) - 4096, MAP_FIXED);
    return 0;
}
