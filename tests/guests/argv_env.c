// Process start-up state: argc/argv (incl. empty and spaced arguments), the
// environment (the harness passes a fixed one with DQEMU_TEST_VAR=hello), and the
// auxiliary vector entries whose values are the same on every host.
// ARGS: one "two words" "" --flag=x 'single quoted' last
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv, char **envp) {
    printf("argc=%d\n", argc);
    const char *slash = strrchr(argv[0], '/');
    printf("argv[0] basename=%s\n", slash ? slash + 1 : argv[0]);
    for (int i = 1; i < argc; i++) printf("argv[%d]=[%s]\n", i, argv[i]);
    printf("argv[argc]==NULL: %d\n", argv[argc] == NULL);
    printf("envp==environ: %d\n", envp == environ);
    const char *v = getenv("DQEMU_TEST_VAR");
    printf("DQEMU_TEST_VAR=%s\n", v ? v : "(unset)");
    printf("DQEMU_NOT_SET=%s\n", getenv("DQEMU_NOT_SET") ? "set?!" : "(unset)");
    int n = 0;
    while (envp[n]) n++;
    char **copy = malloc(sizeof(char *) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) copy[i] = envp[i];
    qsort(copy, (size_t)n, sizeof copy[0], cmpstr);
    printf("environment (%d entries, sorted):\n", n);
    for (int i = 0; i < n; i++) printf("  %s\n", copy[i]);
    setenv("NEW_VAR", "set-at-runtime", 1);
    printf("after setenv: %s\n", getenv("NEW_VAR"));
    unsetenv("DQEMU_TEST_VAR");
    printf("after unsetenv: %s\n", getenv("DQEMU_TEST_VAR") ? "still set" : "(unset)");

    printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
    printf("sysconf(_SC_PAGESIZE)=%ld\n", sysconf(_SC_PAGESIZE));
    printf("AT_PHDR!=0: %d\n", getauxval(AT_PHDR) != 0);
    printf("AT_PHENT=%lu\n", getauxval(AT_PHENT));
    printf("AT_PHNUM>0: %d\n", getauxval(AT_PHNUM) > 0);
    printf("AT_ENTRY!=0: %d\n", getauxval(AT_ENTRY) != 0);
    printf("AT_UID==getuid: %d AT_EUID==geteuid: %d\n", getauxval(AT_UID) == getuid(), getauxval(AT_EUID) == geteuid());
    printf("AT_GID==getgid: %d AT_EGID==getegid: %d\n", getauxval(AT_GID) == getgid(), getauxval(AT_EGID) == getegid());
    printf("AT_SECURE=%lu\n", getauxval(AT_SECURE));
    printf("AT_CLKTCK=%lu\n", getauxval(AT_CLKTCK));
    unsigned long rnd = getauxval(AT_RANDOM);
    printf("AT_RANDOM!=0: %d\n", rnd != 0);
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    if (execfn) {
        const char *s = strrchr(execfn, '/');
        printf("AT_EXECFN basename=%s\n", s ? s + 1 : execfn);
    } else {
        printf("AT_EXECFN missing\n");
    }
    unsigned long hw = getauxval(AT_HWCAP);
    printf("HWCAP has FP and ASIMD: %d\n", (hw & 3) == 3);
    return 0;
}
