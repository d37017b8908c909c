// String and memory functions (glibc's SIMD versions) on unaligned offsets and at
// page boundaries: the data ends right before a PROT_NONE page, so any over-read
// past the string would fault. memcpy/memmove (overlap both ways)/memset/memcmp/
// memchr/strlen/strnlen/strchr/strrchr/strcmp/strncmp/strcpy/strncpy/strcat/strstr/
// strspn/strcspn, checked against simple byte loops.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t ref_strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
static int sign(int v) { return (v > 0) - (v < 0); }
static int ref_memcmp(const uint8_t *a, const uint8_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
}

static uint8_t src[1024], dst[1024], ref[1024];

int main(void) {
    long page = sysconf(_SC_PAGESIZE);
    uint8_t *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) { printf("mmap failed\n"); return 1; }
    if (mprotect(map + page, (size_t)page, PROT_NONE) != 0) { printf("mprotect failed\n"); return 1; }
    uint8_t *end = map + page; /* first inaccessible byte */

    long errors = 0;
    uint64_t h = 0;

    /* strings that end exactly at the page end, every length 0..200 */
    for (int n = 0; n <= 200; n++) {
        char *s = (char *)end - n - 1;
        for (int i = 0; i < n; i++) s[i] = (char)('a' + (i * 7 + n) % 26);
        s[n] = 0;
        if (strlen(s) != (size_t)n || ref_strlen(s) != (size_t)n) errors++;
        if (strnlen(s, 1000) != (size_t)n) errors++;
        char *c = strchr(s, 'q');
        char *rc = strrchr(s, 'a');
        char *z = strchr(s, 0);
        if (z != s + n) errors++;
        void *m = memchr(s, 'z', (size_t)n);
        void *rm = memrchr(s, 'b', (size_t)n);
        h = h * 31 + (c ? (uint64_t)(c - s) + 1 : 0) + (rc ? (uint64_t)(rc - s) * 1000 : 7);
        h = h * 31 + (m ? (uint64_t)((char *)m - s) : 5) + (rm ? (uint64_t)((char *)rm - s) : 3);
        char copy[256];
        strcpy(copy, s);
        if (strcmp(copy, s) != 0 || memcmp(copy, s, (size_t)n + 1) != 0) errors++;
        if (n > 0) {
            copy[n - 1]++;
            if (sign(strcmp(copy, s)) != 1 || sign(strncmp(s, copy, (size_t)n)) != -1 || strncmp(s, copy, (size_t)n - 1) != 0) errors++;
        }
        h = h * 31 + strspn(s, "abcdefgh") + strcspn(s, "xyz") * 3;
        if (n >= 3) {
            char needle[4] = {s[n - 3], s[n - 2], s[n - 1], 0};
            char *f = strstr(s, needle);
            if (!f) errors++; else h = h * 31 + (uint64_t)(f - s);
        }
    }
    printf("page-end strings: errors=%ld hash=%016llx\n", errors, (unsigned long long)h);

    /* memcmp / memchr touching the last byte of the page */
    for (int n = 1; n <= 130; n++) {
        uint8_t *a = end - n;
        memset(a, 0x5a, (size_t)n);
        uint8_t tmp[160];
        memset(tmp, 0x5a, sizeof tmp);
        if (memcmp(a, tmp, (size_t)n) != 0) errors++;
        a[n - 1] = 0x5b;
        if (memcmp(a, tmp, (size_t)n) <= 0) errors++;
        if (memchr(a, 0x5b, (size_t)n) != a + n - 1) errors++;
        if (memchr(a, 0x11, (size_t)n) != NULL) errors++;
    }
    printf("page-end mem: errors=%ld\n", errors);

    /* memcpy/memmove/memset across sizes and alignments vs reference */
    for (int i = 0; i < 1024; i++) src[i] = (uint8_t)(i * 131 + 7);
    for (int so = 0; so < 16; so++)
        for (int dof = 0; dof < 16; dof += 3)
            for (int n = 0; n < 300; n += (n < 40 ? 1 : 13)) {
                memset(dst, 0xee, sizeof dst);
                memcpy(dst + dof, src + so, (size_t)n);
                memset(ref, 0xee, sizeof ref);
                for (int k = 0; k < n; k++) ref[dof + k] = src[so + k];
                if (memcmp(dst, ref, sizeof dst) != 0) errors++;
                /* overlapping move forward and backward */
                memcpy(dst, src, 1024);
                memcpy(ref, src, 1024);
                memmove(dst + 100 + dof, dst + 100 + so, (size_t)n);
                uint8_t t[400];
                for (int k = 0; k < n; k++) t[k] = ref[100 + so + k];
                for (int k = 0; k < n; k++) ref[100 + dof + k] = t[k];
                if (memcmp(dst, ref, 1024) != 0) errors++;
                memset(dst + so, dof * 17, (size_t)n);
                for (int k = 0; k < n; k++) ref[so + k] = (uint8_t)(dof * 17);
                for (int k = 0; k < 1024; k++) if (k < so || k >= so + n) ref[k] = dst[k];
                if (memcmp(dst, ref, 1024) != 0) errors++;
                if (sign(memcmp(src + so, src + dof, (size_t)n)) != ref_memcmp(src + so, src + dof, (size_t)n)) errors++;
            }
    printf("memcpy/memmove/memset: errors=%ld\n", errors);

    /* a copy that crosses from one page into the page before the guard */
    memset(map, 0, (size_t)page);
    memcpy(end - 3000, src, 1024);
    memcpy(end - 1024, end - 3000, 1024);
    printf("cross copy equal=%d\n", memcmp(end - 1024, src, 1024) == 0);

    /* strncpy padding, strcat, strncat */
    char b1[32], b2[64] = "start:";
    memset(b1, 'X', sizeof b1);
    strncpy(b1, "hello", 10);
    printf("strncpy pad: %s %d %d %c\n", b1, b1[5], b1[9], b1[10]);
    strncpy(b1, "0123456789abcdef", 4);
    printf("strncpy trunc: %.8s\n", b1);
    strcat(b2, "one,");
    strncat(b2, "twothree", 3);
    printf("strcat: %s len=%zu\n", b2, strlen(b2));
    printf("strstr: %s | %s | %p\n", strstr("the quick brown fox", "brown"), strstr("aaaaab", "aab"),
           (void *)strstr("abc", "abd"));
    printf("strcmp signs: %d %d %d\n", sign(strcmp("abc", "abd")), sign(strcmp("b", "abc")), sign(strcmp("\xff", "a")));
    printf("total errors=%ld\n", errors);
    munmap(map, (size_t)page * 2);
    return 0;
}
