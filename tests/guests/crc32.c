// Checksums with known answers: CRC-32 (table and bitwise), CRC-32C, Adler-32,
// FNV-1a 64 and a 64-bit xorshift stream, over "123456789" and a generated buffer.
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint32_t table[256], table_c[256];
static void make_tables(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i, d = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
            d = (d & 1) ? 0x82f63b78u ^ (d >> 1) : d >> 1;
        }
        table[i] = c;
        table_c[i] = d;
    }
}
static uint32_t crc32_tab(const uint8_t *p, size_t n, const uint32_t *t) {
    uint32_t c = 0xffffffffu;
    while (n--) c = t[(c ^ *p++) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}
static uint32_t crc32_bits(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}
static uint32_t adler32(const uint8_t *p, size_t n) {
    uint32_t a = 1, b = 0;
    while (n--) { a = (a + *p++) % 65521; b = (b + a) % 65521; }
    return b << 16 | a;
}
static uint64_t fnv1a(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    while (n--) { h ^= *p++; h *= 0x100000001b3ull; }
    return h;
}

int main(void) {
    make_tables();
    const uint8_t *s = (const uint8_t *)"123456789";
    uint32_t c1 = crc32_tab(s, 9, table), c2 = crc32_bits(s, 9), cc = crc32_tab(s, 9, table_c), ad = adler32(s, 9);
    uint64_t fn = fnv1a((const uint8_t *)"a", 1);
    printf("crc32(123456789)=%08x %s\n", c1, c1 == 0xcbf43926u ? "PASS" : "FAIL");
    printf("crc32 bitwise  =%08x %s\n", c2, c2 == 0xcbf43926u ? "PASS" : "FAIL");
    printf("crc32c         =%08x %s\n", cc, cc == 0xe3069283u ? "PASS" : "FAIL");
    printf("adler32        =%08x %s\n", ad, ad == 0x091e01deu ? "PASS" : "FAIL");
    printf("fnv1a64(a)     =%016llx %s\n", (unsigned long long)fn, fn == 0xaf63dc4c8601ec8cull ? "PASS" : "FAIL");
    static uint8_t big[1 << 20];
    uint64_t x = 0x123456789abcdefull;
    for (size_t i = 0; i < sizeof big; i += 8) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        memcpy(big + i, &x, 8);
    }
    printf("1MiB: crc32=%08x crc32c=%08x adler=%08x fnv=%016llx\n", crc32_tab(big, sizeof big, table),
           crc32_tab(big, sizeof big, table_c), adler32(big, sizeof big), (unsigned long long)fnv1a(big, sizeof big));
    printf("bitwise agrees on 64KiB: %d\n", crc32_bits(big, 65536) == crc32_tab(big, 65536, table));
    return 0;
}
