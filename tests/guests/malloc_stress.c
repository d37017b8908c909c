// Heavy malloc/free/realloc/calloc driven by a fixed-seed LCG: small bins, large
// mmap-backed blocks, brk growth, pattern-checked contents, alignment checks, and
// posix_memalign/aligned_alloc. Prints counts and checksums (never addresses).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 2048
static uint8_t *ptr[SLOTS];
static size_t len[SLOTS];
static uint8_t tag[SLOTS];

static uint64_t state = 42;
static uint32_t rnd(void) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(state >> 33);
}

static size_t pick_size(void) {
    uint32_t r = rnd() % 1000;
    if (r < 600) return rnd() % 64 + 1;
    if (r < 900) return rnd() % 1024 + 1;
    if (r < 995) return rnd() % 32768 + 1;
    return rnd() % (1 << 20) + 131072; /* above the mmap threshold */
}

static int check(int i) {
    for (size_t k = 0; k < len[i]; k += (len[i] > 4096 ? 61 : 1))
        if (ptr[i][k] != (uint8_t)(tag[i] + k)) return 0;
    return 1;
}
static void fill(int i) {
    for (size_t k = 0; k < len[i]; k += (len[i] > 4096 ? 61 : 1)) ptr[i][k] = (uint8_t)(tag[i] + k);
}

int main(void) {
    long allocs = 0, frees = 0, reallocs = 0, bad = 0, misaligned = 0;
    uint64_t sum = 0;
    for (int step = 0; step < 200000; step++) {
        int i = (int)(rnd() % SLOTS);
        uint32_t op = rnd() % 10;
        if (ptr[i] && !check(i)) bad++;
        if (ptr[i] == NULL) {
            len[i] = pick_size();
            tag[i] = (uint8_t)rnd();
            if (op < 2) {
                ptr[i] = calloc(1, len[i]);
                for (size_t k = 0; k < len[i]; k++) if (ptr[i][k]) { bad++; break; }
            } else {
                ptr[i] = malloc(len[i]);
            }
            if (!ptr[i]) { printf("allocation failed\n"); return 1; }
            if ((uintptr_t)ptr[i] % 16) misaligned++;
            fill(i);
            allocs++;
        } else if (op < 3) {
            size_t nl = pick_size();
            uint8_t *np = realloc(ptr[i], nl);
            if (!np) { printf("realloc failed\n"); return 1; }
            size_t keep = nl < len[i] ? nl : len[i];
            for (size_t k = 0; k < keep; k += (keep > 4096 ? 61 : 1))
                if (np[k] != (uint8_t)(tag[i] + k)) { bad++; break; }
            ptr[i] = np;
            len[i] = nl;
            fill(i);
            reallocs++;
        } else {
            sum = sum * 31 + len[i] + ptr[i][len[i] / 2];
            free(ptr[i]);
            ptr[i] = NULL;
            frees++;
        }
    }
    for (int i = 0; i < SLOTS; i++) {
        if (ptr[i]) {
            if (!check(i)) bad++;
            sum = sum * 31 + len[i];
            free(ptr[i]);
        }
    }
    printf("allocs=%ld frees=%ld reallocs=%ld bad=%ld misaligned=%ld sum=%016llx\n", allocs, frees, reallocs,
           bad, misaligned, (unsigned long long)sum);

    int align_ok = 1;
    for (size_t al = 16; al <= 65536; al *= 2) {
        void *p = NULL;
        if (posix_memalign(&p, al, al * 3 + 5) != 0 || ((uintptr_t)p % al) != 0) align_ok = 0;
        memset(p, 0xab, al * 3 + 5);
        void *q = aligned_alloc(al, al * 2);
        if (!q || ((uintptr_t)q % al) != 0) align_ok = 0;
        free(p);
        free(q);
    }
    printf("alignment ok=%d\n", align_ok);

    /* a long linked list, freed in reverse */
    struct node { struct node *next; long v; } *head = NULL;
    for (long k = 0; k < 200000; k++) {
        struct node *n = malloc(sizeof *n);
        n->v = k * k % 1009;
        n->next = head;
        head = n;
    }
    long lsum = 0;
    while (head) { struct node *n = head; head = n->next; lsum += n->v; free(n); }
    printf("list sum=%ld\n", lsum);
    return 0;
}
