// printf formatting: integers in every length/base with widths, precision, flags
// and negatives; doubles with %e %f %g %a and their variants; inf/nan; long double;
// %c %s %% %n; snprintf truncation.
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>
#include <stdio.h>

int main(void) {
    printf("[%d] [%i] [%5d] [%-5d] [%05d] [%+d] [% d] [%.3d] [%ld] [%lld]\n", 42, -42, 42, -42, 42, 42, 42, 7,
           LONG_MIN, LLONG_MAX);
    printf("[%u] [%lu] [%x] [%X] [%#x] [%o] [%#o] [%lx] [%#llX] [%hhd] [%hd] [%hhu]\n", 4294967295u, ULONG_MAX,
           0xdeadbeefu, 0xdeadbeefu, 255u, 8u, 8u, 0xfedcba9876543210ul, 0x1ull, (signed char)200, (short)40000,
           (unsigned char)300);
    printf("[%d] [%d] [%x] [%zd] [%zu] [%td] [%jd]\n", INT_MIN, INT_MAX, 0u, (ssize_t)-5, (size_t)12345,
           (ptrdiff_t)-99, (intmax_t)INT64_MIN);
    printf("[%*d] [%-*d] [%.*d] [%*.*f]\n", 8, 123, 6, -9, 5, 3, 10, 2, 3.14159);
    printf("[%c%c%c] [%s] [%10s] [%-10s] [%.3s] [%%]\n", 'a', 'B', '0', "str", "right", "left", "truncate");
    double ds[] = {0.0, -0.0, 1.0, -1.5, 3.141592653589793, 1e-300, 1e300, 123456789.125, 0.1, 2.5, -2.5,
                   1.0 / 3.0, 5e-324, DBL_MAX, DBL_MIN, 6.02214076e23, 999999.5, 0.000123456};
    for (unsigned i = 0; i < sizeof ds / sizeof ds[0]; i++) {
        double d = ds[i];
        printf("%u: [%e] [%.3e] [%E] [%f] [%.0f] [%.10f] [%g] [%G] [%.12g] [%a] [%A] [%.3a] [%12.4e] [%-+14.3f] [%#g] [%#.0f]\n",
               i, d, d, d, d, d, d, d, d, d, d, d, d, d, d, d, d);
    }
    double sp[] = {INFINITY, -INFINITY, NAN, -NAN};
    for (int i = 0; i < 4; i++) printf("[%f] [%e] [%g] [%a] [%5.1f] [%-8F] [%E]\n", sp[i], sp[i], sp[i], sp[i], sp[i], sp[i], sp[i]);
    float f = 1.1f;
    printf("float promoted: %.10f %a\n", f, f);
    long double ld = 1.0L / 3.0L;
    printf("long double: %.30Lf %La %Lg\n", ld, ld, ld * 1e4000L);
    char small[8];
    int n = snprintf(small, sizeof small, "%d-%s", 1234567, "abcdef");
    printf("snprintf: n=%d buf=[%s]\n", n, small);
    int pos = 0;
    printf("abc%n|", &pos);
    printf(" %%n=%d\n", pos);
    printf("%5.2s|%-3c|%3c|%#5x|%#5o|%+.2e\n", "hello", 'x', 'y', 0, 0, 0.0);
    for (int e = -5; e <= 5; e++) printf("%g ", pow(10, e) * 1.2345);
    printf("\n");
    uint64_t bits = 0x7ff8000000000123ull;
    double nanp;
    __builtin_memcpy(&nanp, &bits, 8);
    printf("nan payload: %f %d\n", nanp, isnan(nanp) != 0);
    return 0;
}
