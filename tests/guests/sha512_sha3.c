// FEAT_SHA512 and FEAT_SHA3 with their known answers: SHA-512("abc") (FIPS 180-4) with the schedule on SHA512SU0/SU1
// and two rounds per SHA512H/SHA512H2, and SHA3-256("abc") (FIPS 202) with Keccak-f[1600]'s theta on EOR3 and RAX1,
// rho and pi on XAR, chi on BCAX. Each also runs on a 1 KiB buffer against a plain C implementation. AT_HWCAP's SHA3
// and SHA512 bits are not printed (the emulators advertise different sets). Exits 1 on a wrong answer.
// CFLAGS: -march=armv8.2-a+sha3
#include <arm_neon.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef uint64_t u64;

static const u64 K[80] = {
    0x428a2f98d728ae22, 0x7137449123ef65cd, 0xb5c0fbcfec4d3b2f, 0xe9b5dba58189dbbc, 0x3956c25bf348b538,
    0x59f111f1b605d019, 0x923f82a4af194f9b, 0xab1c5ed5da6d8118, 0xd807aa98a3030242, 0x12835b0145706fbe,
    0x243185be4ee4b28c, 0x550c7dc3d5ffb4e2, 0x72be5d74f27b896f, 0x80deb1fe3b1696b1, 0x9bdc06a725c71235,
    0xc19bf174cf692694, 0xe49b69c19ef14ad2, 0xefbe4786384f25e3, 0x0fc19dc68b8cd5b5, 0x240ca1cc77ac9c65,
    0x2de92c6f592b0275, 0x4a7484aa6ea6e483, 0x5cb0a9dcbd41fbd4, 0x76f988da831153b5, 0x983e5152ee66dfab,
    0xa831c66d2db43210, 0xb00327c898fb213f, 0xbf597fc7beef0ee4, 0xc6e00bf33da88fc2, 0xd5a79147930aa725,
    0x06ca6351e003826f, 0x142929670a0e6e70, 0x27b70a8546d22ffc, 0x2e1b21385c26c926, 0x4d2c6dfc5ac42aed,
    0x53380d139d95b3df, 0x650a73548baf63de, 0x766a0abb3c77b2a8, 0x81c2c92e47edaee6, 0x92722c851482353b,
    0xa2bfe8a14cf10364, 0xa81a664bbc423001, 0xc24b8b70d0f89791, 0xc76c51a30654be30, 0xd192e819d6ef5218,
    0xd69906245565a910, 0xf40e35855771202a, 0x106aa07032bbd1b8, 0x19a4c116b8d2d0c8, 0x1e376c085141ab53,
    0x2748774cdf8eeb99, 0x34b0bcb5e19b48a8, 0x391c0cb3c5c95a63, 0x4ed8aa4ae3418acb, 0x5b9cca4f7763e373,
    0x682e6ff3d6b2b8a3, 0x748f82ee5defb2fc, 0x78a5636f43172f60, 0x84c87814a1f0ab72, 0x8cc702081a6439ec,
    0x90befffa23631e28, 0xa4506cebde82bde9, 0xbef9a3f7b2c67915, 0xc67178f2e372532b, 0xca273eceea26619c,
    0xd186b8c721c0c207, 0xeada7dd6cde0eb1e, 0xf57d4f7fee6ed178, 0x06f067aa72176fba, 0x0a637dc5a2c898a6,
    0x113f9804bef90dae, 0x1b710b35131c471b, 0x28db77f523047d84, 0x32caab7b40c72493, 0x3c9ebe0a15c9bebc,
    0x431d67c49c100d4c, 0x4cc5d4becb3e42b6, 0x597f299cfc657e2a, 0x5fcb6fab3ad6faec, 0x6c44198c4a475817,
};

static u64 ror(u64 x, int k) { return (x >> k) | (x << (64 - k)); }

static u64 load_be(const uint8_t *p) {
    u64 v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

static uint64x2_t pair(u64 lo, u64 hi) { return vcombine_u64(vcreate_u64(lo), vcreate_u64(hi)); }

// one 128-byte block on the SHA512 instructions
static void sha512_block_ce(u64 st[8], const uint8_t *blk) {
    u64 w[80];
    for (int t = 0; t < 16; t++) w[t] = load_be(blk + 8 * t);
    for (int t = 16; t < 80; t += 2) {
        // SHA512SU0: {W[t-16] + s0(W[t-15]), W[t-15] + s0(W[t-14])}; SHA512SU1 adds s1(W[t-2], W[t-1]) and W[t-7], W[t-6]
        uint64x2_t v = vld1q_u64(&w[t - 16]), n = vld1q_u64(&w[t - 14]), x = vld1q_u64(&w[t - 2]), y = vld1q_u64(&w[t - 7]);
        __asm__("sha512su0 %0.2d, %1.2d" : "+w"(v) : "w"(n));
        __asm__("sha512su1 %0.2d, %1.2d, %2.2d" : "+w"(v) : "w"(x), "w"(y));
        vst1q_u64(&w[t], v);
    }
    u64 a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
    for (int i = 0; i < 80; i += 2) {
        // SHA512H: Vd = {g + K[i+1] + W[i+1], h + K[i] + W[i]}, Vn = {f, g}, Vm = {d, e} -> {T1 of round i+1, T1 of round i}
        uint64x2_t t1 = pair(g + K[i + 1] + w[i + 1], h + K[i] + w[i]);
        __asm__("sha512h %q0, %q1, %2.2d" : "+w"(t1) : "w"(pair(f, g)), "w"(pair(d, e)));
        // SHA512H2: Vd = those, Vn = {c, -}, Vm = {a, b} -> {a after round i+1, a after round i}
        uint64x2_t na = t1;
        __asm__("sha512h2 %q0, %q1, %2.2d" : "+w"(na) : "w"(pair(c, 0)), "w"(pair(a, b)));
        u64 t1i = vgetq_lane_u64(t1, 1), t1j = vgetq_lane_u64(t1, 0);
        u64 a1 = vgetq_lane_u64(na, 1), a2 = vgetq_lane_u64(na, 0);
        u64 e1 = d + t1i, e2 = c + t1j;
        h = f; g = e; f = e1; e = e2;
        d = b; c = a; b = a1; a = a2;
    }
    st[0] += a; st[1] += b; st[2] += c; st[3] += d; st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}

static void sha512_block_c(u64 st[8], const uint8_t *blk) {
    u64 w[80];
    for (int t = 0; t < 16; t++) w[t] = load_be(blk + 8 * t);
    for (int t = 16; t < 80; t++)
        w[t] = (ror(w[t - 2], 19) ^ ror(w[t - 2], 61) ^ (w[t - 2] >> 6)) + w[t - 7] +
               (ror(w[t - 15], 1) ^ ror(w[t - 15], 8) ^ (w[t - 15] >> 7)) + w[t - 16];
    u64 a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
    for (int i = 0; i < 80; i++) {
        u64 t1 = h + (ror(e, 14) ^ ror(e, 18) ^ ror(e, 41)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        u64 t2 = (ror(a, 28) ^ ror(a, 34) ^ ror(a, 39)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    st[0] += a; st[1] += b; st[2] += c; st[3] += d; st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}

static void sha512(const uint8_t *msg, size_t len, u64 st[8], int ce) {
    static const u64 iv[8] = {0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
                              0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179};
    memcpy(st, iv, sizeof iv);
    uint8_t blk[128];
    size_t off = 0;
    for (; off + 128 <= len; off += 128) (ce ? sha512_block_ce : sha512_block_c)(st, msg + off);
    size_t rest = len - off;
    memset(blk, 0, sizeof blk);
    memcpy(blk, msg + off, rest);
    blk[rest] = 0x80;
    if (rest >= 112) { (ce ? sha512_block_ce : sha512_block_c)(st, blk); memset(blk, 0, sizeof blk); }
    for (int i = 0; i < 8; i++) blk[127 - i] = (uint8_t)((u64)len * 8 >> (8 * i));
    (ce ? sha512_block_ce : sha512_block_c)(st, blk);
}

// ---- Keccak-f[1600]: A[x + 5y] ----

static const u64 RC[24] = {
    0x0000000000000001, 0x0000000000008082, 0x800000000000808a, 0x8000000080008000, 0x000000000000808b,
    0x0000000080000001, 0x8000000080008081, 0x8000000000008009, 0x000000000000008a, 0x0000000000000088,
    0x0000000080008009, 0x000000008000000a, 0x000000008000808b, 0x800000000000008b, 0x8000000000008089,
    0x8000000000008003, 0x8000000000008002, 0x8000000000000080, 0x000000000000800a, 0x800000008000000a,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
};

// rotation (left) of lane x + 5y
static const int R[25] = {0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14};

static void keccak_c(u64 a[25]) {
    for (int r = 0; r < 24; r++) {
        u64 c[5], d[5], b[25];
        for (int x = 0; x < 5; x++) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        for (int x = 0; x < 5; x++) d[x] = c[(x + 4) % 5] ^ (c[(x + 1) % 5] << 1 | c[(x + 1) % 5] >> 63);
        for (int x = 0; x < 5; x++)
            for (int y = 0; y < 5; y++) {
                u64 v = a[x + 5 * y] ^ d[x];
                int k = R[x + 5 * y];
                b[y + 5 * ((2 * x + 3 * y) % 5)] = k ? v << k | v >> (64 - k) : v;
            }
        for (int x = 0; x < 5; x++)
            for (int y = 0; y < 5; y++) a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
        a[0] ^= RC[r];
    }
}

// the same with both lanes of each vector holding the lane (the instructions work on both)
#define XAR(v, dd, k) ({ uint64x2_t _r; __asm__("xar %0.2d, %1.2d, %2.2d, #%3" : "=w"(_r) : "w"(v), "w"(dd), "i"((64 - (k)) & 63)); _r; })
#define PI(x, y, k) b[(y) + 5 * ((2 * (x) + 3 * (y)) % 5)] = XAR(a[(x) + 5 * (y)], d[x], k) // k = R[x + 5y]

static void keccak_ce(u64 s[25]) {
    uint64x2_t a[25], b[25], c[5], d[5];
    for (int i = 0; i < 25; i++) a[i] = vdupq_n_u64(s[i]);
    for (int r = 0; r < 24; r++) {
        for (int x = 0; x < 5; x++) {
            uint64x2_t t;
            __asm__("eor3 %0.16b, %1.16b, %2.16b, %3.16b" : "=w"(t) : "w"(a[x]), "w"(a[x + 5]), "w"(a[x + 10]));
            __asm__("eor3 %0.16b, %1.16b, %2.16b, %3.16b" : "=w"(c[x]) : "w"(t), "w"(a[x + 15]), "w"(a[x + 20]));
        }
        for (int x = 0; x < 5; x++) __asm__("rax1 %0.2d, %1.2d, %2.2d" : "=w"(d[x]) : "w"(c[(x + 4) % 5]), "w"(c[(x + 1) % 5]));
        PI(0, 0, 0); PI(1, 0, 1); PI(2, 0, 62); PI(3, 0, 28); PI(4, 0, 27);
        PI(0, 1, 36); PI(1, 1, 44); PI(2, 1, 6); PI(3, 1, 55); PI(4, 1, 20);
        PI(0, 2, 3); PI(1, 2, 10); PI(2, 2, 43); PI(3, 2, 25); PI(4, 2, 39);
        PI(0, 3, 41); PI(1, 3, 45); PI(2, 3, 15); PI(3, 3, 21); PI(4, 3, 8);
        PI(0, 4, 18); PI(1, 4, 2); PI(2, 4, 61); PI(3, 4, 56); PI(4, 4, 14);
        for (int x = 0; x < 5; x++)
            for (int y = 0; y < 5; y++) // BCAX: Vn ^ (Vm & ~Va)
                __asm__("bcax %0.16b, %1.16b, %2.16b, %3.16b"
                        : "=w"(a[x + 5 * y])
                        : "w"(b[x + 5 * y]), "w"(b[(x + 2) % 5 + 5 * y]), "w"(b[(x + 1) % 5 + 5 * y]));
        a[0] = veorq_u64(a[0], vdupq_n_u64(RC[r]));
    }
    for (int i = 0; i < 25; i++) {
        if (vgetq_lane_u64(a[i], 0) != vgetq_lane_u64(a[i], 1)) printf("lanes differ at %d\n", i);
        s[i] = vgetq_lane_u64(a[i], 0);
    }
}

static void sha3_256(const uint8_t *msg, size_t len, uint8_t out[32], int ce) {
    u64 s[25] = {0};
    const size_t rate = 136;
    uint8_t blk[136];
    size_t off = 0;
    for (;;) {
        size_t n = len - off < rate ? len - off : rate;
        memset(blk, 0, rate);
        memcpy(blk, msg + off, n);
        int last = n < rate;
        if (last) { blk[n] ^= 0x06; blk[rate - 1] ^= 0x80; }
        for (size_t i = 0; i < rate / 8; i++) {
            u64 v = 0;
            for (int k = 7; k >= 0; k--) v = v << 8 | blk[8 * i + k];
            s[i] ^= v;
        }
        (ce ? keccak_ce : keccak_c)(s);
        off += n;
        if (last) break;
    }
    for (int i = 0; i < 32; i++) out[i] = (uint8_t)(s[i / 8] >> (8 * (i % 8)));
}

int main(void) {
    int bad = 0;
    u64 st[8], ref[8];
    sha512((const uint8_t *)"abc", 3, st, 1);
    static const u64 abc512[8] = {0xddaf35a193617aba, 0xcc417349ae204131, 0x12e6fa4e89a97ea2, 0x0a9eeee64b55d39a,
                                  0x2192992a274fc1a8, 0x36ba3c23a3feebbd, 0x454d4423643ce80e, 0x2a9ac94fa54ca49f};
    printf("sha512(abc) ");
    for (int i = 0; i < 8; i++) printf("%016llx", (unsigned long long)st[i]);
    int ok = memcmp(st, abc512, sizeof st) == 0;
    printf(" %s\n", ok ? "ok" : "WRONG");
    bad |= !ok;

    static uint8_t buf[1024];
    for (int i = 0; i < (int)sizeof buf; i++) buf[i] = (uint8_t)(i * 131 + 7);
    sha512(buf, sizeof buf, st, 1);
    sha512(buf, sizeof buf, ref, 0);
    ok = memcmp(st, ref, sizeof st) == 0;
    printf("sha512(1 KiB) %016llx... %s\n", (unsigned long long)st[0], ok ? "equal to C" : "DIFFERS FROM C");
    bad |= !ok;

    uint8_t d3[32], r3[32];
    static const uint8_t abc3[32] = {0x3a, 0x98, 0x5d, 0xa7, 0x4f, 0xe2, 0x25, 0xb2, 0x04, 0x5c, 0x17, 0x2d, 0x6b, 0xd3, 0x90, 0xbd,
                                     0x85, 0x5f, 0x08, 0x6e, 0x3e, 0x9d, 0x52, 0x5b, 0x46, 0xbf, 0xe2, 0x45, 0x11, 0x43, 0x15, 0x32};
    sha3_256((const uint8_t *)"abc", 3, d3, 1);
    printf("sha3-256(abc) ");
    for (int i = 0; i < 32; i++) printf("%02x", d3[i]);
    ok = memcmp(d3, abc3, 32) == 0;
    printf(" %s\n", ok ? "ok" : "WRONG");
    bad |= !ok;
    sha3_256(buf, sizeof buf, d3, 1);
    sha3_256(buf, sizeof buf, r3, 0);
    ok = memcmp(d3, r3, 32) == 0;
    printf("sha3-256(1 KiB) %02x%02x%02x%02x... %s\n", d3[0], d3[1], d3[2], d3[3], ok ? "equal to C" : "DIFFERS FROM C");
    bad |= !ok;
    return bad;
}
