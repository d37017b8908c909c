// Text <-> number conversions: sprintf round trips, sscanf with many conversions,
// strtod (decimal, hex floats, subnormals, overflow with ERANGE, inf/nan), strtol/
// strtoul/strtoll in several bases with overflow, atoi/atol/atof.
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    char buf[128];
    int n = sprintf(buf, "%d|%5.2f|%s|%x|%c", -17, 3.14159, "txt", 3054, 'Z');
    printf("sprintf n=%d [%s]\n", n, buf);

    int i1, i2; unsigned u; long l; double d; float f; char w[16], c; int consumed;
    int got = sscanf("  42 -7 0x1f 123456789012 2.5e3 -0.125 word X rest", "%d %i %x %ld %lf %f %15s %c%n", &i1, &i2,
                     &u, &l, &d, &f, w, &c, &consumed);
    printf("sscanf got=%d: %d %d %u %ld %g %g %s %c consumed=%d\n", got, i1, i2, u, l, d, (double)f, w, c, consumed);
    got = sscanf("12:34:56", "%d:%d:%d", &i1, &i2, &n);
    printf("sscanf time got=%d %d %d %d\n", got, i1, i2, n);
    got = sscanf("abc", "%d", &i1);
    printf("sscanf mismatch got=%d\n", got);
    got = sscanf("", "%d", &i1);
    printf("sscanf empty got=%d\n", got);
    char set[16];
    got = sscanf("hello123world", "%[a-z]%d", set, &i1);
    printf("sscanf set got=%d [%s] %d\n", got, set, i1);
    got = sscanf("0777 0b 077", "%o %2c %i", &u, w, &i2);
    printf("sscanf octal got=%d %u %.2s %d\n", got, u, w, i2);

    const char *ds[] = {"3.14159", "-0", "1e-320", "4.9e-324", "2e-324", "1e309", "-1e309", "0x1.8p3", "0x1p-1074",
                        "inf", "-Infinity", "nan", "NAN(123)", "  +12.5xyz", "1.7976931348623157e308",
                        "2.2250738585072011e-308", "123456789012345678901234567890", ".5", "5.", "e5", "0.1e+2",
                        "1_000"};
    for (unsigned k = 0; k < sizeof ds / sizeof ds[0]; k++) {
        char *end;
        errno = 0;
        double v = strtod(ds[k], &end);
        printf("strtod(\"%s\") = %a (%.17g) used=%d erange=%d\n", ds[k], v, v, (int)(end - ds[k]), errno == ERANGE);
    }
    errno = 0;
    float fv = strtof("3.4028236e38", NULL);
    printf("strtof overflow %a erange=%d\n", (double)fv, errno == ERANGE);

    struct { const char *s; int base; } ls[] = {
        {"12345", 10}, {"-12345", 10}, {"0x7fffffffffffffff", 16}, {"0x8000000000000000", 16},
        {"-9223372036854775808", 10}, {"-9223372036854775809", 10}, {"777", 8}, {"0777", 0},
        {"0x1A", 0}, {"zz", 36}, {"101101", 2}, {"  -42abc", 10}, {"", 10}, {"18446744073709551615", 10},
        {"18446744073709551616", 10}, {"-1", 10}};
    for (unsigned k = 0; k < sizeof ls / sizeof ls[0]; k++) {
        char *e1, *e2;
        errno = 0;
        long v = strtol(ls[k].s, &e1, ls[k].base);
        int er1 = errno == ERANGE;
        errno = 0;
        unsigned long uv = strtoul(ls[k].s, &e2, ls[k].base);
        int er2 = errno == ERANGE;
        printf("strtol(\"%s\",%d)=%ld used=%d erange=%d | strtoul=%lu used=%d erange=%d\n", ls[k].s, ls[k].base, v,
               (int)(e1 - ls[k].s), er1, uv, (int)(e2 - ls[k].s), er2);
    }
    printf("atoi=%d atol=%ld atof=%g atoll=%lld\n", atoi("  -123x"), atol("99999999999"), atof("-2.5e-3"),
           atoll("-9223372036854775807"));
    /* round trip: %.17g then strtod must give the same bits */
    unsigned long x = 88172645463325252ul;
    int mism = 0;
    for (int k = 0; k < 20000; k++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        double v;
        unsigned long bits = x & 0x7fefffffffffffffUL;
        memcpy(&v, &bits, 8);
        char t[64];
        snprintf(t, sizeof t, "%.17g", v);
        double back = strtod(t, NULL);
        if (memcmp(&back, &v, 8) != 0) mism++;
        snprintf(t, sizeof t, "%a", v);
        back = strtod(t, NULL);
        if (memcmp(&back, &v, 8) != 0) mism++;
    }
    printf("round-trip mismatches=%d\n", mism);
    return 0;
}
