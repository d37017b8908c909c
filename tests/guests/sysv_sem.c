// SysV semaphores: semget, IPC_STAT's stable fields (nsems, mode, times set or not: the arm64 semid64_ds differs from
// x86-64's), SETALL/GETALL, SETVAL/GETVAL, semop with IPC_NOWAIT (EAGAIN), semtimedop timing out (EAGAIN), SEM_UNDO
// undone when a forked child exits, a child blocked in semop woken by the parent (GETNCNT sees it wait, GETPID names
// it afterwards), IPC_SET of the mode, IPC_INFO/SEM_INFO, EFAULT for bad buffers, EINVAL for a bad id, IPC_RMID (a
// removed set's id then fails). The set is removed before the exit.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

union semun { int val; struct semid_ds *buf; unsigned short *array; struct seminfo *__buf; };

static void stat_line(const char *when, int id)
{
    struct semid_ds ds;
    memset(&ds, 0x55, sizeof ds);
    union semun a = { .buf = &ds };
    if (semctl(id, 0, IPC_STAT, a) != 0) { printf("%s: IPC_STAT errno %d\n", when, errno); return; }
    printf("%s: nsems %lu mode %o otime set %d ctime set %d\n", when, (unsigned long)ds.sem_nsems,
           ds.sem_perm.mode & 0777, ds.sem_otime != 0, ds.sem_ctime != 0);
}

static void getall(const char *when, int id)
{
    unsigned short v[3] = { 9, 9, 9 };
    union semun a = { .array = v };
    int r = semctl(id, 0, GETALL, a);
    printf("%s: GETALL %d -> %u %u %u\n", when, r, v[0], v[1], v[2]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
    if (id < 0) { perror("semget"); return 1; }
    stat_line("created", id);
    unsigned short init[3] = { 1, 2, 3 };
    union semun a = { .array = init };
    printf("SETALL: %d\n", semctl(id, 0, SETALL, a));
    getall("initial", id);
    a.val = 5;
    printf("SETVAL 0 to 5: %d, GETVAL 0: %d, GETVAL 2: %d\n", semctl(id, 0, SETVAL, a), semctl(id, 0, GETVAL),
           semctl(id, 2, GETVAL));

    struct sembuf op = { .sem_num = 1, .sem_op = -3, .sem_flg = IPC_NOWAIT };
    errno = 0;
    printf("take 3 of 2 with IPC_NOWAIT: %d errno %d\n", semop(id, &op, 1), errno);
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    errno = 0;
    printf("semtimedop 20 ms: %d errno %d\n", semtimedop(id, &op, 1, &ts), errno);
    struct sembuf two[2] = { { 0, -1, 0 }, { 2, 2, 0 } };
    printf("two ops at once: %d\n", semop(id, two, 2));
    getall("after two ops", id);
    stat_line("after semop", id);

    // SEM_UNDO: the child's -2 on semaphore 0 is undone when it exits; its +1 on semaphore 1 without undo stays
    pid_t child = fork();
    if (child == 0) {
        struct sembuf c[2] = { { 0, -2, SEM_UNDO }, { 1, 1, 0 } };
        _exit(semop(id, c, 2) == 0 && semctl(id, 0, GETVAL) == 2 ? 0 : 3);
    }
    int st;
    waitpid(child, &st, 0);
    printf("SEM_UNDO child: status %d\n", WEXITSTATUS(st));
    getall("after the child", id);

    // a child waits for semaphore 1 to reach 4 (it is 3): the parent sees it waiting, then lets it through
    child = fork();
    if (child == 0) {
        struct sembuf c = { 1, -4, 0 };
        _exit(semop(id, &c, 1) == 0 ? 0 : 3);
    }
    int waited = 0;
    for (int i = 0; i < 2000 && semctl(id, 1, GETNCNT) != 1; i++) usleep(5000);
    waited = semctl(id, 1, GETNCNT) == 1;
    struct sembuf up = { 1, 1, 0 };
    printf("child waiting (GETNCNT 1): %d, release: %d\n", waited, semop(id, &up, 1));
    waitpid(child, &st, 0);
    printf("blocked child: status %d, GETPID is the child %d, GETZCNT %d\n", WEXITSTATUS(st),
           semctl(id, 1, GETPID) == child, semctl(id, 1, GETZCNT));
    getall("after the waiter", id);

    struct semid_ds ds;
    memset(&ds, 0, sizeof ds);
    ds.sem_perm.uid = getuid();
    ds.sem_perm.gid = getgid();
    ds.sem_perm.mode = 0640;
    a.buf = &ds;
    printf("IPC_SET mode 0640: %d\n", semctl(id, 0, IPC_SET, a));
    stat_line("after IPC_SET", id);

    struct seminfo si;
    a.__buf = &si;
    printf("IPC_INFO: %d, semmsl > 0 %d, semopm > 0 %d\n", semctl(id, 0, IPC_INFO, a) >= 0, si.semmsl > 0, si.semopm > 0);
    printf("SEM_INFO: %d, semusz >= 1 %d\n", semctl(id, 0, SEM_INFO, a) >= 0, si.semusz >= 1);
    errno = 0;
    a.buf = (struct semid_ds *)8;
    printf("IPC_STAT to a bad buffer: %d errno %d\n", semctl(id, 0, IPC_STAT, a), errno);
    errno = 0;
    printf("semop from a bad buffer: %d errno %d\n", semop(id, (struct sembuf *)8, 1), errno);
    errno = 0;
    printf("GETVAL of a bad id: %d errno %d\n", semctl(-1, 0, GETVAL), errno);
    errno = 0;
    printf("GETVAL past the set: %d errno %d\n", semctl(id, 3, GETVAL), errno);

    printf("IPC_RMID: %d\n", semctl(id, 0, IPC_RMID));
    errno = 0;
    printf("semop after IPC_RMID: %d errno %d\n", semop(id, &up, 1), errno);
    return 0;
}
