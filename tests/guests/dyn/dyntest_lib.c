// A small shared library that dlopen_lib.c loads at run time (built into build/guests/dyn/libdyntest.so).
// It has a constructor and a destructor, its own data and bss (relocated pointers included), a TLS
// variable, calls back into libc and into a function pointer given by the caller.
#include <stdio.h>
#include <string.h>

static const char *const greetings[] = {"hello", "from", "a", "shared", "library"};
static int calls;
static __thread int tls_calls = 100;
int dyntest_counter = 7;

__attribute__((constructor)) static void on_load(void) { printf("libdyntest: constructor (counter %d)\n", dyntest_counter); }
__attribute__((destructor)) static void on_unload(void) { printf("libdyntest: destructor (calls %d)\n", calls); }

long dyntest_sum_squares(int n)
{
    calls++;
    tls_calls++;
    long s = 0;
    for (int i = 1; i <= n; i++) s += (long)i * i;
    return s;
}

const char *dyntest_word(int i)
{
    calls++;
    return greetings[(unsigned)i % (sizeof greetings / sizeof greetings[0])];
}

int dyntest_apply(int (*f)(int), int x)
{
    calls++;
    dyntest_counter += f(x);
    return dyntest_counter;
}

int dyntest_tls_calls(void) { return tls_calls; }

size_t dyntest_strlen_all(void)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof greetings / sizeof greetings[0]; i++) n += strlen(greetings[i]);
    return n;
}
