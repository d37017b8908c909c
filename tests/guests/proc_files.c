// /proc as programs read it about themselves. Every line is "what: 1" when the answer is right, checked against the
// program's own knowledge: /proc/self/stat (pid, comm, ppid, startstack in the [stack] mapping and above main's
// frame) always; with the argument "check" (ProcFilesTests, under dqemu-native only, since qemu-aarch64 7.2 passes the
// host's cpuinfo, smaps and status through and prints 0 for most stat fields) also: stat's state, pgrp, session,
// num_threads, vsize (the sum of /proc/self/maps), startcode/endcode around main, start_brk, the argument and
// environment ranges, the signal sets; /proc/<pid>/stat the same line; /proc/self/task/<tid>/stat and
// /proc/thread-self/stat of a thread that named itself; /proc/cpuinfo in arm64's format with exactly the features
// getauxval(AT_HWCAP/AT_HWCAP2) gives, one block per online CPU; /proc/self/smaps with the same regions as maps and
// sizes that agree; /proc/self/status's Name, Threads, Pid, SigIgn and SigCgt; /proc/self/comm, thread-self/comm and
// task/<tid>/comm of the named worker; /proc/self/statm against maps, stat's code range and a written megabyte.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <unistd.h>

extern char **environ;

static int slurp(const char *path, char *buf, int cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int n = 0, r;
    while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0) n += r;
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    return n;
}

// the fields of a stat line: f[1] is the pid, comm in comm, f[3] onwards after it (proc(5)'s numbering)
struct stat_line { int count; char comm[64]; char state; unsigned long long f[60]; };

static int parse_stat(const char *text, struct stat_line *s)
{
    memset(s, 0, sizeof *s);
    const char *open = strchr(text, '('), *close = strrchr(text, ')');
    if (!open || !close) return 0;
    s->f[1] = strtoull(text, NULL, 10);
    snprintf(s->comm, sizeof s->comm, "%.*s", (int)(close - open - 1), open + 1);
    const char *p = close + 2;
    s->state = *p;
    p += 1;
    s->count = 3;
    while (*p == ' ' && s->count < 59) {
        char *end;
        s->f[++s->count] = strtoull(p + 1, &end, 10);
        if (end == p + 1) break;
        p = end;
    }
    return 1;
}

static int stack_range(const char *maps, unsigned long *lo, unsigned long *hi)
{
    const char *l = strstr(maps, "[stack]");
    if (!l) return 0;
    while (l > maps && l[-1] != '\n') l--;
    return sscanf(l, "%lx-%lx", lo, hi) == 2;
}

static const char *hwcap_names[] = { "fp", "asimd", "evtstrm", "aes", "pmull", "sha1", "sha2", "crc32", "atomics",
    "fphp", "asimdhp", "cpuid", "asimdrdm", "jscvt", "fcma", "lrcpc", "dcpop", "sha3", "sm3", "sm4", "asimddp",
    "sha512", "sve", "asimdfhm", "dit", "uscat", "ilrcpc", "flagm", "ssbs", "sb", "paca", "pacg" };
static const char *hwcap2_names[] = { "dcpodp", "sve2", "sveaes", "svepmull", "svebitperm", "svesha3", "svesm4",
    "flagm2", "frint", "svei8mm", "svef32mm", "svef64mm", "svebf16", "i8mm", "bf16", "dgh", "rng", "bti", "mte" };

static pthread_barrier_t started, finish;
static int worker_tid, worker_self_ok;

static void *worker(void *arg)
{
    static char buf[4096];
    if ((long)arg == 0) {
        prctl(PR_SET_NAME, "worker");
        worker_tid = gettid();
        struct stat_line s;
        worker_self_ok = slurp("/proc/thread-self/stat", buf, sizeof buf) > 0 && parse_stat(buf, &s)
                         && s.f[1] == (unsigned long long)gettid() && strcmp(s.comm, "worker") == 0;
    }
    pthread_barrier_wait(&started);
    pthread_barrier_wait(&finish);
    return NULL;
}

static void on_usr1(int sig) {}

int main(int argc, char **argv)
{
    static char stat[4096], maps[1 << 16], buf[1 << 17];
    setvbuf(stdout, NULL, _IONBF, 0);
    int check = argc > 1 && strcmp(argv[1], "check") == 0;
    int local;
    struct stat_line s;

    slurp("/proc/self/maps", maps, sizeof maps);
    parse_stat(slurp("/proc/self/stat", stat, sizeof stat) > 0 ? stat : "", &s);
    unsigned long lo = 0, hi = 0;
    stack_range(maps, &lo, &hi);
    printf("stat pid: %d\n", s.f[1] == (unsigned long long)getpid());
    printf("stat comm: %d\n", strcmp(s.comm, "proc_files") == 0);
    printf("stat ppid: %d\n", s.f[4] == (unsigned long long)getppid());
    printf("stat startstack in [stack], above main's frame: %d\n",
           s.f[28] >= lo && s.f[28] < hi && s.f[28] > (unsigned long)&local);
    if (!check) return 0;

    // two more threads, one named; signal sets to look for
    pthread_barrier_init(&started, NULL, 3);
    pthread_barrier_init(&finish, NULL, 3);
    pthread_t t[2];
    for (long i = 0; i < 2; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    pthread_barrier_wait(&started);
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);

    slurp("/proc/self/maps", maps, sizeof maps);
    slurp("/proc/self/stat", stat, sizeof stat);
    parse_stat(stat, &s);
    unsigned long vsize = 0, s0, e0;
    for (char *l = maps; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (sscanf(l, "%lx-%lx", &s0, &e0) == 2) vsize += e0 - s0;
    printf("stat has 52 fields: %d\n", s.count == 52);
    printf("stat state running: %d\n", s.state == 'R');
    printf("stat pgrp, session: %d\n", s.f[5] == (unsigned long long)getpgrp() && s.f[6] == (unsigned long long)getsid(0));
    printf("stat num_threads 3: %d\n", s.f[20] == 3);
    printf("stat starttime set: %d\n", s.f[22] > 0);
    printf("stat vsize the sum of maps: %d\n", s.f[23] == vsize);
    printf("stat startcode <= main < endcode: %d\n", s.f[26] <= (unsigned long)main && (unsigned long)main < s.f[27]);
    printf("stat start_brk after the code, at most the break: %d\n", s.f[47] >= s.f[27] && s.f[47] <= (unsigned long)sbrk(0));
    printf("stat arg_start, arg_end: %d\n", s.f[48] == (unsigned long)argv[0]
           && s.f[49] == (unsigned long)argv[argc - 1] + strlen(argv[argc - 1]) + 1);
    printf("stat env_start, env_end: %d\n", environ[0] == NULL || (s.f[50] == (unsigned long)environ[0] && s.f[51] > s.f[50]));
    printf("stat kstkesp, kstkeip 0: %d\n", s.f[29] == 0 && s.f[30] == 0);
    printf("stat blocked SIGHUP, ignores SIGUSR2, catches SIGUSR1: %d\n", (s.f[32] & (1ULL << (SIGHUP - 1)))
           && (s.f[33] & (1ULL << (SIGUSR2 - 1))) && (s.f[34] & (1ULL << (SIGUSR1 - 1))) && !(s.f[34] & (1ULL << (SIGUSR2 - 1))));
    char path[64];
    static char other[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", getpid());
    struct stat_line o;
    printf("/proc/<pid>/stat the same line: %d\n", slurp(path, other, sizeof other) > 0 && parse_stat(other, &o)
           && o.f[1] == s.f[1] && o.f[20] == 3 && o.f[28] == s.f[28] && strcmp(o.comm, s.comm) == 0);

    printf("thread-self/stat of the worker: %d\n", worker_self_ok);
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", worker_tid);
    printf("task/<tid>/stat of the worker: %d\n", slurp(path, other, sizeof other) > 0 && parse_stat(other, &o)
           && o.f[1] == (unsigned long long)worker_tid && strcmp(o.comm, "worker") == 0 && o.f[20] == 3);
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", gettid());
    printf("task/<tid>/stat of main: %d\n", slurp(path, other, sizeof other) > 0 && parse_stat(other, &o)
           && o.f[1] == (unsigned long long)gettid() && strcmp(o.comm, "proc_files") == 0);

    // cpuinfo: arm64's lines, the features getauxval gives, one block per online CPU
    slurp("/proc/cpuinfo", buf, sizeof buf);
    char want[1024] = "";
    unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    for (int i = 0; i < 32; i++)
        if (hw & (1UL << i)) { if (*want) strcat(want, " "); strcat(want, hwcap_names[i]); }
    for (int i = 0; i < (int)(sizeof hwcap2_names / sizeof *hwcap2_names); i++)
        if (hw2 & (1UL << i)) { if (*want) strcat(want, " "); strcat(want, hwcap2_names[i]); }
    int blocks = 0, feature_lines = 0, features_ok = 1, others = 1;
    for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, "processor\t: ", 12) == 0) {
            blocks++;
            char *end = strstr(l, "\n\n"); // the block alone
            if (end) *end = 0;
            others &= end != NULL && strstr(l, "\nBogoMIPS\t: ") != NULL && strstr(l, "\nCPU implementer\t: 0x") != NULL
                      && strstr(l, "\nCPU architecture: 8\n") != NULL && strstr(l, "\nCPU part\t: 0x") != NULL
                      && strstr(l, "\nCPU revision\t: ") != NULL;
            if (end) *end = '\n';
        }
        if (strncmp(l, "Features\t: ", 11) == 0 && ++feature_lines)
            features_ok &= strncmp(l + 11, want, strlen(want)) == 0 && l[11 + strlen(want)] == '\n';
    }
    printf("cpuinfo blocks as online CPUs: %d\n", blocks > 0 && blocks == sysconf(_SC_NPROCESSORS_ONLN));
    printf("cpuinfo Features as AT_HWCAP (fp asimd at least): %d\n", feature_lines == blocks && features_ok
           && strncmp(want, "fp asimd", 8) == 0);
    printf("cpuinfo arm64 lines, no x86 ones: %d\n", others && strstr(buf, "vendor_id") == NULL && strstr(buf, "flags\t") == NULL);

    // smaps: the regions of maps, in order, each with its size
    slurp("/proc/self/maps", maps, sizeof maps);
    slurp("/proc/self/smaps", buf, sizeof buf);
    char *m = maps, *sm = buf;
    int regions = 0, same = 1, sizes = 1;
    while (*m) {
        char *mend = strchr(m, '\n');
        size_t len = mend - m + 1;
        if (strncmp(m, sm, len) != 0) { same = 0; break; }
        unsigned long a, b, size = 0, rss = ~0UL;
        sscanf(m, "%lx-%lx", &a, &b);
        sm += len;
        // the fields up to the next region line (VmFlags last)
        char *next = strstr(sm, "VmFlags:");
        char *sz = strncmp(sm, "Size:", 5) == 0 ? sm : NULL, *r = strstr(sm, "Rss:");
        if (!next || !sz || !r || sz > next || r > next) { same = 0; break; }
        sscanf(sz, "Size: %lu kB", &size);
        sscanf(r, "Rss: %lu kB", &rss);
        sizes &= size == (b - a) / 1024 && rss <= size && strstr(sm, "KernelPageSize:") < next;
        sm = strchr(next, '\n') + 1;
        m = mend + 1;
        regions++;
    }
    printf("smaps regions as maps: %d\n", same && regions > 3 && *sm == 0);
    printf("smaps sizes agree: %d\n", sizes);

    static char comm[64];
    printf("comm of the process and of thread-self: %d\n", slurp("/proc/self/comm", comm, sizeof comm) > 0
           && strcmp(comm, "proc_files\n") == 0 && slurp("/proc/thread-self/comm", comm, sizeof comm) > 0
           && strcmp(comm, "proc_files\n") == 0);
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", worker_tid);
    printf("task/<tid>/comm of the worker: %d\n", slurp(path, comm, sizeof comm) > 0 && strcmp(comm, "worker\n") == 0);

    // statm: a megabyte written makes data and resident pages; the sizes are in pages
    char *mega = malloc(1 << 20);
    memset(mega, 1, 1 << 20);
    slurp("/proc/self/maps", maps, sizeof maps);
    vsize = 0;
    for (char *l = maps; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (sscanf(l, "%lx-%lx", &s0, &e0) == 2) vsize += e0 - s0;
    unsigned long sm_size = 0, sm_res = 0, sm_shared = 0, sm_text = 0, sm_lib = 1, sm_data = 0, sm_dt = 1;
    slurp("/proc/self/statm", comm, sizeof comm);
    int fields = sscanf(comm, "%lu %lu %lu %lu %lu %lu %lu", &sm_size, &sm_res, &sm_shared, &sm_text, &sm_lib, &sm_data, &sm_dt);
    printf("statm size the sum of maps, text the code: %d\n", fields == 7 && sm_size * 4096 == vsize
           && sm_text * 4096 == ((s.f[27] + 4095) & ~4095UL) - (s.f[26] & ~4095UL));
    printf("statm resident, data, lib and dt: %d\n", sm_res >= 256 && sm_res <= sm_size && sm_shared <= sm_res
           && sm_data >= 256 && sm_data < sm_size && sm_lib == 0 && sm_dt == 0 && mega[12345] == 1);
    free(mega);

    slurp("/proc/self/status", buf, sizeof buf);
    char line[128];
    snprintf(line, sizeof line, "\nPid:\t%d\n", getpid());
    unsigned long long ign = 0, cgt = 0;
    char *p = strstr(buf, "SigIgn:\t"), *q = strstr(buf, "SigCgt:\t");
    if (p) ign = strtoull(p + 8, NULL, 16);
    if (q) cgt = strtoull(q + 8, NULL, 16);
    printf("status Name, Threads, Pid: %d\n", strncmp(buf, "Name:\tproc_files\n", 17) == 0
           && strstr(buf, "\nThreads:\t3\n") != NULL && strstr(buf, line) != NULL);
    printf("status SigIgn, SigCgt: %d\n", (ign & (1ULL << (SIGUSR2 - 1))) && (cgt & (1ULL << (SIGUSR1 - 1))));

    pthread_barrier_wait(&finish);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    return 0;
}
