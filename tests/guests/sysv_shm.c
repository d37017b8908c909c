// SysV shared memory: shmget (EINVAL for size 0), IPC_STAT's stable fields (size, mode, attach count), shmat at an
// address the kernel picks, shared with a forked child (the child's writes and its own second attachment reach the
// parent), the attachment in /proc/self/maps as /SYSV<key> (deleted) and gone after shmdt, SHM_RDONLY (a write is a
// SIGSEGV), SHM_RND rounding, a misaligned address without it (EINVAL), an occupied range (EINVAL) and SHM_REMAP over
// it, shmdt of an address that starts no attachment (EINVAL), IPC_INFO/SHM_INFO, EFAULT for a bad IPC_STAT buffer,
// IPC_RMID while attached (the segment lives until the last detach). Every segment is removed before the exit.
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

static sigjmp_buf jb;
static void on_segv(int sig) { siglongjmp(jb, 1); }

// the /proc/self/maps line of the mapping that starts at p, or "" when none does
static void maps_line(void *p, char *out, int cap)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    out[0] = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long s, e;
        if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s == (unsigned long)p) {
            snprintf(out, cap, "%s", line);
            break;
        }
    }
    if (f) fclose(f);
}

static void stat_line(const char *when, int id)
{
    struct shmid_ds ds;
    if (shmctl(id, IPC_STAT, &ds) != 0) { printf("%s: IPC_STAT errno %d\n", when, errno); return; }
    printf("%s: size %zu mode %o nattch %lu creator is me %d\n", when, ds.shm_segsz, ds.shm_perm.mode & 0777,
           (unsigned long)ds.shm_nattch, ds.shm_cpid == getpid());
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    errno = 0;
    printf("size 0: %d errno %d\n", shmget(IPC_PRIVATE, 0, IPC_CREAT | 0600), errno);
    int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
    if (id < 0) { perror("shmget"); return 1; }
    stat_line("created", id);

    char *p = shmat(id, NULL, 0);
    printf("attached: %d, page aligned %d\n", p != (void *)-1, ((unsigned long)p & 4095) == 0);
    stat_line("attached", id);
    printf("fresh segment is zero: %d\n", p[0] == 0 && p[9999] == 0 && p[12287] == 0);
    strcpy(p, "parent");

    char line[512];
    maps_line(p, line, sizeof line);
    printf("maps: listed %d, rw %d, named SYSV %d, length 12 KiB %d\n", line[0] != 0, strstr(line, " rw") != NULL,
           strstr(line, "/SYSV00000000 (deleted)") != NULL,
           line[0] && ({ unsigned long s, e; sscanf(line, "%lx-%lx", &s, &e); e - s == 12288; }));

    pid_t child = fork();
    if (child == 0) {
        // the child inherits the attachment, and attaches once more somewhere else
        int ok = strcmp(p, "parent") == 0;
        char *q = shmat(id, NULL, 0);
        ok = ok && q != (void *)-1 && q != p;
        strcpy(q + 100, "child via second attachment");
        strcpy(p, "child");
        _exit(ok ? 0 : 3);
    }
    int st;
    waitpid(child, &st, 0);
    printf("child: status %d, p now \"%s\", second text \"%s\"\n", WEXITSTATUS(st), p, p + 100);
    stat_line("after child", id);

    // read-only attachment: reads see the data, a write faults
    char *r = shmat(id, NULL, SHM_RDONLY);
    maps_line(r, line, sizeof line);
    printf("read-only: reads \"%s\", maps r-- %d\n", r, strstr(line, " r--") != NULL);
    signal(SIGSEGV, on_segv);
    if (sigsetjmp(jb, 1) == 0) {
        r[0] = 'X';
        printf("write to read-only: no fault\n");
    } else
        printf("write to read-only: SIGSEGV, text still \"%s\"\n", p);
    signal(SIGSEGV, SIG_DFL);
    printf("shmdt read-only: %d\n", shmdt(r));

    // a free range of our own choosing: SHM_RND, misalignment, an occupied range, SHM_REMAP
    char *free_at = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(free_at, 1 << 16);
    errno = 0;
    printf("misaligned without SHM_RND: %d errno %d\n", shmat(id, free_at + 0x123, 0) == (void *)-1, errno);
    char *rnd = shmat(id, free_at + 0x123, SHM_RND);
    printf("SHM_RND: at the rounded address %d, text \"%s\"\n", rnd == free_at, rnd == free_at ? rnd : "");
    char *occupied = mmap(free_at + 0x8000, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    errno = 0;
    printf("over a mapping: %d errno %d\n", shmat(id, occupied - 0x1000, 0) == (void *)-1, errno);
    char *remap = shmat(id, occupied - 0x1000, SHM_REMAP);
    printf("SHM_REMAP over it: at the address %d, text \"%s\"\n", remap == occupied - 0x1000,
           remap == occupied - 0x1000 ? remap : "");
    stat_line("four attachments", id);
    errno = 0;
    printf("shmdt inside an attachment: %d errno %d\n", shmdt(rnd + 4096), errno);
    printf("shmdt SHM_RND one: %d, SHM_REMAP one: %d\n", shmdt(rnd), shmdt(remap));
    maps_line(remap, line, sizeof line);
    printf("maps after shmdt: still listed %d\n", line[0] != 0);
    errno = 0;
    printf("shmdt again: %d errno %d\n", shmdt(remap), errno);

    struct shminfo info;
    struct shm_info sinfo;
    printf("IPC_INFO: %d, shmmin %lu, shmmax > 0 %d\n", shmctl(0, IPC_INFO, (struct shmid_ds *)&info) >= 0,
           (unsigned long)info.shmmin, info.shmmax > 0);
    printf("SHM_INFO: %d, used_ids >= 1 %d\n", shmctl(0, SHM_INFO, (struct shmid_ds *)&sinfo) >= 0, sinfo.used_ids >= 1);
    errno = 0;
    printf("IPC_STAT to a bad buffer: %d errno %d\n", shmctl(id, IPC_STAT, (struct shmid_ds *)8), errno);
    errno = 0;
    struct shmid_ds ds;
    printf("IPC_STAT of a bad id: %d errno %d\n", shmctl(-1, IPC_STAT, &ds), errno);

    // IPC_RMID while attached: the memory stays usable until the last detach, then the id is gone
    printf("IPC_RMID: %d\n", shmctl(id, IPC_RMID, NULL));
    strcpy(p, "still here");
    printf("after IPC_RMID: \"%s\"\n", p);
    printf("last shmdt: %d\n", shmdt(p));
    errno = 0;
    printf("IPC_STAT after the last detach: %d errno %d\n", shmctl(id, IPC_STAT, &ds) == -1, errno);
    return 0;
}
