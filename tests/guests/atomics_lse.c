// ARMv8.1 LSE atomics via inline asm: ldadd/ldclr/ldeor/ldset/ldsmax/ldsmin/ldumax/
// ldumin/swp/cas/casp in all sizes and acquire/release variants; return old values.
// CFLAGS: -march=armv8.1-a
#include <stdint.h>
#include <stdio.h>

static uint64_t m64;
static uint32_t m32;
static uint16_t m16;
static uint8_t m8;
static uint64_t pair[2] __attribute__((aligned(16)));

#define AMO(insn, reg, mem, val) ({ uint64_t o; __asm__ volatile(insn " %" reg "1, %" reg "0, [%2]" : "=&r"(o) : "r"(val), "r"(&mem) : "memory"); o; })

int main(void) {
    uint64_t h = 0;
    m64 = 0x8000000000000005ull; m32 = 0x80000005u; m16 = 0x8005; m8 = 0x85;
    static const uint64_t vals[] = {1, 0xffffffffffffffffull, 0x7f, 0x8000000000000000ull, 0x5555, 3, 0xfedcba9876543210ull};
    for (unsigned i = 0; i < 7; i++) {
        uint64_t v = vals[i], o[48];
        int k = 0;
        o[k++] = AMO("ldadd", "", m64, v);    o[k++] = AMO("ldaddal", "", m64, v);
        o[k++] = AMO("ldclr", "", m64, v);    o[k++] = AMO("ldeora", "", m64, v);
        o[k++] = AMO("ldsetl", "", m64, v);   o[k++] = AMO("ldsmax", "", m64, v);
        o[k++] = AMO("ldsmin", "", m64, v);   o[k++] = AMO("ldumax", "", m64, v);
        o[k++] = AMO("ldumin", "", m64, v);   o[k++] = AMO("swp", "", m64, v * 3);
        o[k++] = AMO("ldadd", "w", m32, v);   o[k++] = AMO("ldsmax", "w", m32, v);
        o[k++] = AMO("ldsmin", "w", m32, v);  o[k++] = AMO("ldumax", "w", m32, v);
        o[k++] = AMO("ldumin", "w", m32, v);  o[k++] = AMO("ldeor", "w", m32, v);
        o[k++] = AMO("swpal", "w", m32, v + 9);
        o[k++] = AMO("ldaddh", "w", m16, v);  o[k++] = AMO("ldsmaxh", "w", m16, v);
        o[k++] = AMO("ldsminh", "w", m16, v); o[k++] = AMO("ldclrh", "w", m16, v);
        o[k++] = AMO("swph", "w", m16, v);
        o[k++] = AMO("ldaddb", "w", m8, v);   o[k++] = AMO("ldsmaxb", "w", m8, v);
        o[k++] = AMO("lduminb", "w", m8, v);  o[k++] = AMO("ldsetb", "w", m8, v);
        o[k++] = AMO("swpb", "w", m8, v);
        /* cas: compare with current value (succeeds) then with a wrong one (fails) */
        uint64_t cur = m64, nv = v ^ 0xa5;
        __asm__ volatile("casal %0, %2, [%3]" : "+&r"(cur) : "r"(cur), "r"(nv), "r"(&m64) : "memory");
        o[k++] = cur; o[k++] = m64;
        uint64_t wrong = m64 + 1;
        __asm__ volatile("cas %0, %1, [%2]" : "+&r"(wrong) : "r"(0ull), "r"(&m64) : "memory");
        o[k++] = wrong; o[k++] = m64;
        uint64_t c32 = m32;
        __asm__ volatile("casa %w0, %w1, [%2]" : "+&r"(c32) : "r"(v), "r"(&m32) : "memory");
        o[k++] = c32; o[k++] = m32;
        uint64_t c16 = m16 ^ 1;
        __asm__ volatile("caslh %w0, %w1, [%2]" : "+&r"(c16) : "r"(v), "r"(&m16) : "memory");
        o[k++] = c16; o[k++] = m16;
        uint64_t c8 = m8;
        __asm__ volatile("casb %w0, %w1, [%2]" : "+&r"(c8) : "r"(v), "r"(&m8) : "memory");
        o[k++] = c8; o[k++] = m8;
        /* casp on a 16-byte pair: registers must be even/odd consecutive */
        {
            register uint64_t x0 __asm__("x4") = pair[0];
            register uint64_t x1 __asm__("x5") = pair[1];
            register uint64_t n0 __asm__("x6") = v;
            register uint64_t n1 __asm__("x7") = ~v;
            __asm__ volatile("caspal x4, x5, x6, x7, [%4]" : "+r"(x0), "+r"(x1) : "r"(n0), "r"(n1), "r"(pair) : "memory");
            o[k++] = x0; o[k++] = x1; o[k++] = pair[0]; o[k++] = pair[1];
        }
        printf("v=%llx:", (unsigned long long)v);
        for (int j = 0; j < k; j++) { printf(" %llx", (unsigned long long)o[j]); h = h * 31 + o[j]; }
        printf("\n");
    }
    printf("final %llx %x %x %x hash %016llx\n", (unsigned long long)m64, m32, m16, m8, (unsigned long long)h);
    return 0;
}
