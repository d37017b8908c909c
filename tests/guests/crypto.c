// The crypto extension through the ACLE intrinsics: AES-128 (FIPS-197 C.1, key schedule with AESE as SubWord),
// SHA-256 and SHA-1 of "abc" (FIPS 180 known answers) and of a generated 4 KiB buffer (hashlib's answers), PMULL/PMULL2 against a
// C carry-less multiply, and the AT_HWCAP crypto bits AES and PMULL (with the argument "sha-bits", SHA1 and SHA2 too:
// dqemu-native advertises them only on a host with SHA-NI, so the plain run's output does not depend on it).
// CFLAGS: -march=armv8-a+crypto
#include <arm_neon.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

static int failures; // the exit status: a wrong known answer fails even if qemu-aarch64 printed the same

static const char *verdict(int ok) {
    failures += !ok;
    return ok ? "ok" : "WRONG";
}

static void hex(const char *label, const uint8_t *p, int n) {
    printf("%s ", label);
    for (int i = 0; i < n; i++) printf("%02x", p[i]);
    printf("\n");
}

static uint32_t sub_word(uint32_t w) { // every column the same word: ShiftRows moves nothing
    uint8x16_t x = vaeseq_u8(vreinterpretq_u8_u32(vdupq_n_u32(w)), vdupq_n_u8(0));
    return vgetq_lane_u32(vreinterpretq_u32_u8(x), 0);
}

static void aes_test(void) {
    static const uint8_t key[16] = {0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15};
    static const uint8_t plain[16] = {0x00,0x11,0x22,0x33,0x44,0x55,0x66,0x77,0x88,0x99,0xaa,0xbb,0xcc,0xdd,0xee,0xff};
    static const uint8_t want[16] = {0x69,0xc4,0xe0,0xd8,0x6a,0x7b,0x04,0x30,0xd8,0xcd,0xb7,0x80,0x70,0xb4,0xc5,0x5a};
    uint32_t w[44];
    memcpy(w, key, 16);
    uint32_t rcon = 1;
    for (int i = 4; i < 44; i++) {
        uint32_t t = w[i - 1];
        if (i % 4 == 0) {
            t = sub_word((t >> 8) | (t << 24)) ^ rcon;
            rcon = (rcon << 1) ^ ((rcon & 0x80) ? 0x11b : 0);
        }
        w[i] = w[i - 4] ^ t;
    }
    uint8x16_t rk[11], s = vld1q_u8(plain);
    for (int r = 0; r < 11; r++) rk[r] = vld1q_u8((const uint8_t *)&w[4 * r]);
    for (int r = 0; r < 9; r++) s = vaesmcq_u8(vaeseq_u8(s, rk[r]));
    s = veorq_u8(vaeseq_u8(s, rk[9]), rk[10]);
    uint8_t out[16];
    vst1q_u8(out, s);
    hex("aes128 encrypt", out, 16);
    printf("aes128 encrypt %s\n", verdict(memcmp(out, want, 16) == 0));
    s = vaesimcq_u8(vaesdq_u8(s, rk[10]));
    for (int r = 9; r >= 2; r--) s = vaesimcq_u8(vaesdq_u8(s, vaesimcq_u8(rk[r])));
    s = veorq_u8(vaesdq_u8(s, vaesimcq_u8(rk[1])), rk[0]);
    vst1q_u8(out, s);
    printf("aes128 decrypt %s\n", verdict(memcmp(out, plain, 16) == 0));
}

static const uint32_t K256[64] = {
    0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,
    0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,
    0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,
    0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,
    0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,
    0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,
    0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,
    0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2};

static void sha256_block(uint32_t st[8], const uint8_t *p) {
    uint32x4_t abcd = vld1q_u32(st), efgh = vld1q_u32(st + 4), abcd0 = abcd, efgh0 = efgh, m[4];
    for (int i = 0; i < 4; i++) m[i] = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(p + 16 * i)));
    for (int i = 0; i < 16; i++) {
        if (i >= 4) m[i % 4] = vsha256su1q_u32(vsha256su0q_u32(m[i % 4], m[(i + 1) % 4]), m[(i + 2) % 4], m[(i + 3) % 4]);
        uint32x4_t wk = vaddq_u32(m[i % 4], vld1q_u32(K256 + 4 * i)), t = abcd;
        abcd = vsha256hq_u32(abcd, efgh, wk);
        efgh = vsha256h2q_u32(efgh, t, wk);
    }
    vst1q_u32(st, vaddq_u32(abcd, abcd0));
    vst1q_u32(st + 4, vaddq_u32(efgh, efgh0));
}

static void sha1_block(uint32_t st[5], const uint8_t *p) {
    static const uint32_t K1[4] = {0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6};
    uint32x4_t abcd = vld1q_u32(st), abcd0 = abcd, m[4];
    uint32_t e = st[4];
    for (int i = 0; i < 4; i++) m[i] = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(p + 16 * i)));
    for (int i = 0; i < 20; i++) {
        if (i >= 4) m[i % 4] = vsha1su1q_u32(vsha1su0q_u32(m[i % 4], m[(i + 1) % 4], m[(i + 2) % 4]), m[(i + 3) % 4]);
        uint32x4_t wk = vaddq_u32(m[i % 4], vdupq_n_u32(K1[i / 5]));
        uint32_t enext = vsha1h_u32(vgetq_lane_u32(abcd, 0));
        if (i < 5) abcd = vsha1cq_u32(abcd, e, wk);
        else if (i < 10 || i >= 15) abcd = vsha1pq_u32(abcd, e, wk);
        else abcd = vsha1mq_u32(abcd, e, wk);
        e = enext;
    }
    vst1q_u32(st, vaddq_u32(abcd, abcd0));
    st[4] += e;
}

// pads msg (len < 2^32 bytes) into buf and returns the block count
static int pad(uint8_t *buf, const uint8_t *msg, uint32_t len) {
    int blocks = (len + 8) / 64 + 1;
    memset(buf, 0, 64 * blocks);
    memcpy(buf, msg, len);
    buf[len] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) buf[64 * blocks - 1 - i] = (uint8_t)(bits >> (8 * i));
    return blocks;
}

static uint8_t msgbuf[4096], padded[4096 + 128];

static void sha_tests(const char *name, const uint8_t *msg, uint32_t len, const char *want256, const char *want1) {
    int blocks = pad(padded, msg, len);
    uint32_t s2[8] = {0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19};
    uint32_t s1[5] = {0x67452301,0xefcdab89,0x98badcfe,0x10325476,0xc3d2e1f0};
    for (int b = 0; b < blocks; b++) { sha256_block(s2, padded + 64 * b); sha1_block(s1, padded + 64 * b); }
    char h2[65], h1[41];
    for (int i = 0; i < 8; i++) sprintf(h2 + 8 * i, "%08x", s2[i]);
    for (int i = 0; i < 5; i++) sprintf(h1 + 8 * i, "%08x", s1[i]);
    printf("sha256(%s) %s%s%s\n", name, h2, want256 ? " " : "", want256 ? verdict(strcmp(h2, want256) == 0) : "");
    printf("sha1(%s) %s%s%s\n", name, h1, want1 ? " " : "", want1 ? verdict(strcmp(h1, want1) == 0) : "");
}

static void clmul(uint64_t a, uint64_t b, uint64_t *lo, uint64_t *hi) {
    *lo = *hi = 0;
    for (int i = 0; i < 64; i++)
        if ((b >> i) & 1) { *lo ^= a << i; if (i) *hi ^= a >> (64 - i); }
}

static void pmull_test(void) {
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    int bad = 0;
    for (int i = 0; i < 1000; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        uint64_t a = x, b = x * 0xff51afd7ed558ccdULL, lo, hi;
        poly128_t r = vmull_p64((poly64_t)a, (poly64_t)b);
        poly64x2_t va = vcombine_p64(vcreate_p64(b), vcreate_p64(a)), vb = vcombine_p64(vcreate_p64(a), vcreate_p64(b));
        poly128_t r2 = vmull_high_p64(va, vb);
        clmul(a, b, &lo, &hi);
        if ((uint64_t)r != lo || (uint64_t)(r >> 64) != hi || r2 != r) bad++;
        if (i < 3) printf("pmull %016llx * %016llx = %016llx%016llx\n", (unsigned long long)a, (unsigned long long)b,
                          (unsigned long long)(uint64_t)(r >> 64), (unsigned long long)(uint64_t)r);
    }
    printf("pmull 1000 products: %d wrong\n", bad);
    failures += bad != 0;
}

int main(int argc, char **argv) {
    unsigned long hw = getauxval(AT_HWCAP);
    printf("hwcap aes=%lu pmull=%lu", (hw >> 3) & 1, (hw >> 4) & 1);
    if (argc > 1 && strcmp(argv[1], "sha-bits") == 0) printf(" sha1=%lu sha2=%lu", (hw >> 5) & 1, (hw >> 6) & 1);
    printf("\n");
    aes_test();
    sha_tests("abc", (const uint8_t *)"abc", 3,
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "a9993e364706816aba3e25717850c26c9cd0d89d");
    for (int i = 0; i < 4096; i++) msgbuf[i] = (uint8_t)(i * 131 + (i >> 5));
    sha_tests("4KiB", msgbuf, sizeof msgbuf, // known answers from Python's hashlib
              "779732b4cbcc7126990e25809abbc80a4f08fda739aff2fef9e3f9b5053d4449", "6b97788182dc737582eaa72548ab18941123edcf");
    pmull_test();
    return failures != 0;
}
