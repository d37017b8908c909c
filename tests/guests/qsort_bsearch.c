// qsort and bsearch on ints, doubles, strings and structs (stable-by-key ordering
// checks), with comparators called through function pointers.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t seed = 2024;
static uint32_t rnd(void) { seed = seed * 1664525u + 1013904223u; return seed; }

static int cmp_int(const void *a, const void *b) { int x = *(const int *)a, y = *(const int *)b; return (x > y) - (x < y); }
static int cmp_dbl(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
struct rec { int key; int id; char name[12]; };
static int cmp_rec(const void *a, const void *b) {
    const struct rec *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->id - y->id;
}

int main(void) {
    enum { N = 100000 };
    int *a = malloc(N * sizeof *a);
    for (int i = 0; i < N; i++) a[i] = (int)(rnd() % 2000001) - 1000000;
    qsort(a, N, sizeof *a, cmp_int);
    int sorted = 1;
    long long sum = 0;
    for (int i = 0; i < N; i++) { if (i && a[i - 1] > a[i]) sorted = 0; sum += (long long)a[i] * (i % 97); }
    printf("ints sorted=%d min=%d max=%d median=%d weighted=%lld\n", sorted, a[0], a[N - 1], a[N / 2], sum);
    int found = 0, missing = 0;
    for (int k = -1000000; k <= 1000000; k += 997) {
        int *p = bsearch(&k, a, N, sizeof *a, cmp_int);
        if (p) { found++; if (*p != k) printf("bsearch wrong\n"); } else missing++;
    }
    printf("bsearch found=%d missing=%d\n", found, missing);

    double d[5000];
    for (int i = 0; i < 5000; i++) d[i] = (double)(int32_t)rnd() / (double)(rnd() | 1);
    qsort(d, 5000, sizeof d[0], cmp_dbl);
    printf("doubles: %a %a %a\n", d[0], d[2500], d[4999]);

    static char storage[3000][12];
    char *s[3000];
    for (int i = 0; i < 3000; i++) {
        int len = 3 + (int)(rnd() % 8);
        for (int j = 0; j < len; j++) storage[i][j] = (char)('a' + rnd() % 26);
        storage[i][len] = 0;
        s[i] = storage[i];
    }
    qsort(s, 3000, sizeof s[0], cmp_str);
    printf("strings: %s %s %s %s\n", s[0], s[1], s[1500], s[2999]);
    char *key = s[1234];
    char **hit = bsearch(&key, s, 3000, sizeof s[0], cmp_str);
    printf("bsearch string: %s\n", hit ? *hit : "(none)");

    struct rec r[2000];
    for (int i = 0; i < 2000; i++) {
        r[i].key = (int)(rnd() % 50);
        r[i].id = i;
        snprintf(r[i].name, sizeof r[i].name, "n%d", (int)(rnd() % 100000));
    }
    qsort(r, 2000, sizeof r[0], cmp_rec);
    unsigned long h = 0;
    for (int i = 0; i < 2000; i++) h = h * 131 + (unsigned long)r[i].key * 7 + (unsigned long)r[i].id + (unsigned char)r[i].name[1];
    printf("records: first=%d/%d/%s last=%d/%d/%s hash=%lx\n", r[0].key, r[0].id, r[0].name, r[1999].key, r[1999].id,
           r[1999].name, h);
    free(a);
    return 0;
}
