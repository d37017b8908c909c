// Benchmark: a Dhrystone-like mix of small function calls, struct copies, string
// copies/compares, switch statements, pointer chasing and integer arithmetic.
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef enum { IDENT_1, IDENT_2, IDENT_3, IDENT_4, IDENT_5 } Enumeration;
typedef struct record {
    struct record *ptr_comp;
    Enumeration discr;
    Enumeration enum_comp;
    int int_comp;
    char str_comp[31];
} Record;

static Record glob_a, glob_b;
static Record *ptr_glob = &glob_a, *next_ptr_glob = &glob_b;
static int int_glob, arr1[50], arr2[50][50];
static char ch1_glob, ch2_glob;
static int bool_glob;

static Enumeration __attribute__((noinline)) func1(char c1, char c2) {
    char loc1 = c1, loc2 = loc1;
    if (loc2 != c2) return IDENT_1;
    ch1_glob = loc1;
    return IDENT_2;
}
static int __attribute__((noinline)) func2(const char *s1, const char *s2) {
    int loc = 2;
    char ch = 'A';
    while (loc <= 2) {
        if (func1(s1[loc], s2[loc + 1]) == IDENT_1) ch = 'A';
        else ch = 'R';
        loc += 1;
    }
    if (ch >= 'W' && ch < 'Z') loc = 7;
    if (ch == 'R') return 1;
    if (strcmp(s1, s2) > 0) { int_glob = loc + 7; return 1; }
    return 0;
}
static int __attribute__((noinline)) func3(Enumeration e) { return e == IDENT_3; }
static void __attribute__((noinline)) proc7(int a, int b, int *out) { *out = b + a + 2; }
static void __attribute__((noinline)) proc6(Enumeration in, Enumeration *out) {
    *out = in;
    if (!func3(in)) *out = IDENT_4;
    switch (in) {
    case IDENT_1: *out = IDENT_1; break;
    case IDENT_2: *out = int_glob > 100 ? IDENT_1 : IDENT_4; break;
    case IDENT_3: *out = IDENT_2; break;
    case IDENT_4: break;
    case IDENT_5: *out = IDENT_3; break;
    }
}
static void __attribute__((noinline)) proc8(int *a1, int a2[50][50], int i1, int i2) {
    int loc = i1 + 5;
    a1[loc] = i2;
    a1[loc + 1] = a1[loc];
    a1[loc + 30] = loc;
    for (int i = loc; i <= loc + 1; i++) a2[loc][i] = loc;
    a2[loc][loc - 1] += 1;
    a2[loc + 20][loc] = a1[loc];
    int_glob = 5;
}
static void __attribute__((noinline)) proc3(Record **out) {
    if (ptr_glob) *out = ptr_glob->ptr_comp;
    proc7(10, int_glob, &ptr_glob->int_comp);
}
static void __attribute__((noinline)) proc1(Record *p) {
    Record *next = p->ptr_comp;
    *p->ptr_comp = *ptr_glob;
    p->int_comp = 5;
    next->int_comp = p->int_comp;
    next->ptr_comp = p->ptr_comp;
    proc3(&next->ptr_comp);
    if (next->discr == IDENT_1) {
        next->int_comp = 6;
        proc6(p->enum_comp, &next->enum_comp);
        next->ptr_comp = ptr_glob->ptr_comp;
        proc7(next->int_comp, 10, &next->int_comp);
    } else {
        *p = *p->ptr_comp;
    }
}

int main(void) {
    char str1[31], str2[31];
    next_ptr_glob->ptr_comp = NULL;
    ptr_glob->ptr_comp = next_ptr_glob;
    ptr_glob->discr = IDENT_1;
    ptr_glob->enum_comp = IDENT_3;
    ptr_glob->int_comp = 40;
    strcpy(ptr_glob->str_comp, "DHRYSTONE PROGRAM, SOME STRING");
    strcpy(str1, "DHRYSTONE PROGRAM, 1'ST STRING");
    arr2[8][7] = 10;
    uint64_t check = 0;
    Enumeration e = IDENT_2;
    for (int run = 1; run <= 24000000; run++) {
        int i1 = 2, i2 = 3, i3;
        ch1_glob = 'A';
        bool_glob = !bool_glob;
        ch2_glob = 'B';
        strcpy(str2, "DHRYSTONE PROGRAM, 2'ND STRING");
        str2[run % 7] = (char)('A' + run % 26);
        e = IDENT_2;
        bool_glob = !func2(str1, str2);
        while (i1 < i2) { i3 = 5 * i1 - i2; proc7(i1, i2, &i3); i1 += 1; }
        proc8(arr1, arr2, i1, i3);
        proc1(ptr_glob);
        for (char c = 'A'; c <= ch2_glob; ++c)
            if (e == func1(c, 'C')) { proc6(IDENT_1, &e); strcpy(str2, "DHRYSTONE PROGRAM, 3'RD STRING"); i2 = run; int_glob = run; }
        i2 = i2 * i1;
        i1 = i2 / i3;
        i2 = 7 * (i2 - i3) - i1;
        check = check * 31 + (uint64_t)(i1 + i2 + i3 + int_glob + (int)e + bool_glob + ptr_glob->int_comp);
    }
    printf("int_glob %d bool %d ch %c%c arr1[8] %d arr2[8][7] %d enum %d str2 %s check %016llx\n", int_glob, bool_glob,
           ch1_glob, ch2_glob, arr1[8], arr2[8][7], (int)e, str2, (unsigned long long)check);
    return 0;
}
