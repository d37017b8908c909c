// dlopen/dlsym/dlclose of build/guests/dyn/libdyntest.so (found through DT_RUNPATH $ORIGIN, so ld.so
// has to work out where this program lives), calls into it, including a callback, and checks the
// errors dlopen and dlsym report. Built dynamically only (see toolchains/build-guests.sh).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static int triple(int x) { return 3 * x; }

int main(void)
{
    void *h = dlopen("libdyntest.so", RTLD_NOW | RTLD_LOCAL);
    if (!h) { printf("dlopen failed: %s\n", dlerror()); return 1; }
    printf("dlopen ok\n");

    long (*sum_squares)(int) = (long (*)(int))dlsym(h, "dyntest_sum_squares");
    const char *(*word)(int) = (const char *(*)(int))dlsym(h, "dyntest_word");
    int (*apply)(int (*)(int), int) = (int (*)(int (*)(int), int))dlsym(h, "dyntest_apply");
    int (*tls_calls)(void) = (int (*)(void))dlsym(h, "dyntest_tls_calls");
    size_t (*strlen_all)(void) = (size_t (*)(void))dlsym(h, "dyntest_strlen_all");
    int *counter = (int *)dlsym(h, "dyntest_counter");
    if (!sum_squares || !word || !apply || !tls_calls || !strlen_all || !counter) { printf("dlsym failed\n"); return 2; }

    printf("sum_squares(100) = %ld\n", sum_squares(100));
    for (int i = 0; i < 5; i++) printf("word(%d) = %s\n", i, word(i));
    printf("counter = %d\n", *counter);
    printf("apply(triple, 5) = %d\n", apply(triple, 5));
    printf("counter now = %d\n", *counter);
    printf("tls calls = %d\n", tls_calls());
    printf("strlen_all = %zu\n", strlen_all());

    Dl_info info;
    if (dladdr((void *)sum_squares, &info) && info.dli_sname) printf("dladdr name = %s\n", info.dli_sname);

    dlerror();
    void *missing = dlsym(h, "dyntest_no_such_symbol");
    const char *err = dlerror();
    printf("missing symbol: %s, error %s\n", missing ? "found?" : "null", err && strstr(err, "dyntest_no_such_symbol") ? "names it" : "missing");

    void *h2 = dlopen("libdyntest.so", RTLD_NOW | RTLD_NOLOAD);
    printf("still loaded (NOLOAD): %s\n", h2 ? "yes" : "no");
    if (h2) dlclose(h2);

    printf("dlclose = %d\n", dlclose(h));
    void *h3 = dlopen("libdyntest.so", RTLD_NOW | RTLD_NOLOAD);
    printf("loaded after dlclose: %s\n", h3 ? "yes" : "no");

    void *bad = dlopen("libdyntest_does_not_exist.so", RTLD_NOW);
    err = dlerror();
    printf("dlopen of a missing library: %s, error %s\n", bad ? "found?" : "null",
           err && strstr(err, "No such file") ? "ENOENT" : err ? err : "none");
    return 0;
}
