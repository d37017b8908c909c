// The executable's own pages are the file's, privately mapped, as Linux's ELF loader leaves them: a written page of
// .data that madvise(MADV_DONTNEED) discards reads back as the file's bytes (an anonymous copy would read zeros), its
// neighbours keep what was written, and the text stays readable next to them.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

// four whole pages of initialised data (in .data, so in the file), not the segment's last page
static int table[4 * 1024] __attribute__((aligned(4096))) = { [0] = 42, [1023] = 41, [1024] = 43, [2048] = 44, [4095] = 45 };
static int after[2048] = { 1, 2, 3 };

int main(void) {
    printf("initial: %d %d %d %d %d, after %d\n", table[0], table[1023], table[1024], table[2048], table[4095], after[2]);
    table[0] = 7; table[1023] = 6; table[1024] = 8; table[2048] = 9;
    printf("written: %d %d %d %d\n", table[0], table[1023], table[1024], table[2048]);
    printf("madvise DONTNEED first page = %d\n", madvise(table, 4096, MADV_DONTNEED));
    printf("first page again the file's: %d %d\n", table[0], table[1023]);
    printf("other pages keep their writes: %d %d\n", table[1024], table[2048]);
    printf("madvise DONTNEED second page = %d\n", madvise(&table[1024], 4096, MADV_DONTNEED));
    printf("second page again the file's: %d, third still %d\n", table[1024], table[2048]);
    unsigned char code[16];
    memcpy(code, (const void *)(uintptr_t)main, sizeof code);
    int nonzero = 0;
    for (unsigned i = 0; i < sizeof code; i++) nonzero |= code[i];
    printf("text readable, nonzero=%d\n", nonzero != 0);
    return 0;
}
