// SysV message queues: msgget, msgsnd of several types, IPC_STAT's stable fields (count, bytes, mode), msgrcv by
// type (0: the first, n: the first of type n, -n: the lowest type up to n, MSG_EXCEPT), a long message against a short
// buffer (E2BIG, or cut with MSG_NOERROR), IPC_NOWAIT on an empty queue (ENOMSG), mtype 0 (EINVAL), a forked child
// blocked in msgrcv woken by the parent's msgsnd, IPC_SET of msg_qbytes, IPC_INFO/MSG_INFO, EFAULT for a bad msgsnd or IPC_STAT buffer,
// IPC_RMID. The queue is removed before the exit.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>

struct msg { long mtype; char mtext[200]; };

static int send(int id, long type, const char *text)
{
    struct msg m = { .mtype = type };
    strcpy(m.mtext, text);
    return msgsnd(id, &m, strlen(text) + 1, 0);
}

static void recv(int id, long type, int flags, size_t size)
{
    struct msg m;
    memset(&m, 0, sizeof m);
    errno = 0;
    ssize_t n = msgrcv(id, &m, size, type, flags);
    if (n < 0) printf("msgrcv type %ld: -1 errno %d\n", type, errno);
    else printf("msgrcv type %ld: %zd bytes, type %ld, \"%.*s\"\n", type, n, m.mtype, (int)n, m.mtext);
}

static void stat_line(const char *when, int id)
{
    struct msqid_ds ds;
    if (msgctl(id, IPC_STAT, &ds) != 0) { printf("%s: IPC_STAT errno %d\n", when, errno); return; }
    printf("%s: qnum %lu cbytes %lu mode %o qbytes > 0 %d lspid is me %d\n", when, (unsigned long)ds.msg_qnum,
           (unsigned long)ds.__msg_cbytes, ds.msg_perm.mode & 0777, ds.msg_qbytes > 0, ds.msg_lspid == getpid());
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (id < 0) { perror("msgget"); return 1; }
    stat_line("created", id);
    printf("send: %d %d %d %d\n", send(id, 1, "one"), send(id, 2, "two"), send(id, 3, "three"), send(id, 2, "two again"));
    stat_line("four queued", id);
    recv(id, 2, 0, 200);
    recv(id, 0, 0, 200);
    recv(id, -3, 0, 200);
    recv(id, 2, MSG_EXCEPT, 200);
    recv(id, 0, IPC_NOWAIT, 200);
    stat_line("emptied", id);

    char big[120];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    send(id, 5, big);
    recv(id, 5, 0, 10);
    recv(id, 5, MSG_NOERROR, 10);
    errno = 0;
    struct msg m = { .mtype = 0 };
    printf("mtype 0: %d errno %d\n", msgsnd(id, &m, 4, 0), errno);
    errno = 0;
    printf("msgsnd from a bad buffer: %d errno %d\n", msgsnd(id, (void *)8, 4, 0), errno);
    // (no msgrcv into a bad buffer: Linux takes the message off the queue before it fails with EFAULT, qemu-aarch64
    // fails before the call and leaves it there)

    // a child waits for type 7; the parent sends it once the child is waiting
    pid_t child = fork();
    if (child == 0) {
        struct msg c;
        ssize_t n = msgrcv(id, &c, sizeof c.mtext, 7, 0);
        _exit(n == 6 && strcmp(c.mtext, "seven") == 0 ? 0 : 3);
    }
    for (int i = 0; i < 2000; i++) {
        struct msqid_ds ds;
        msgctl(id, IPC_STAT, &ds);
        if (ds.msg_lrpid == child) break; // not set until it receives: look at the waiters through /proc instead
        char path[64], state = 0;
        snprintf(path, sizeof path, "/proc/%d/stat", child);
        FILE *f = fopen(path, "r");
        if (f) { fscanf(f, "%*d %*s %c", &state); fclose(f); }
        if (state == 'S') break;
        usleep(5000);
    }
    printf("send seven: %d\n", send(id, 7, "seven"));
    int st;
    waitpid(child, &st, 0);
    printf("blocked child: status %d\n", WEXITSTATUS(st));
    stat_line("after the child", id);

    struct msqid_ds ds;
    msgctl(id, IPC_STAT, &ds);
    ds.msg_qbytes = 1000;
    printf("IPC_SET qbytes 1000: %d\n", msgctl(id, IPC_SET, &ds));
    msgctl(id, IPC_STAT, &ds);
    printf("qbytes now %lu\n", (unsigned long)ds.msg_qbytes);
    struct msginfo mi;
    printf("IPC_INFO: %d, msgmax > 0 %d, msgmnb > 0 %d\n", msgctl(id, IPC_INFO, (struct msqid_ds *)&mi) >= 0,
           mi.msgmax > 0, mi.msgmnb > 0);
    printf("MSG_INFO: %d, msgpool >= 0 %d\n", msgctl(id, MSG_INFO, (struct msqid_ds *)&mi) >= 0, mi.msgpool >= 0);
    errno = 0;
    printf("IPC_STAT to a bad buffer: %d errno %d\n", msgctl(id, IPC_STAT, (struct msqid_ds *)8), errno);
    printf("IPC_RMID: %d\n", msgctl(id, IPC_RMID, NULL));
    errno = 0;
    printf("msgsnd after IPC_RMID: %d errno %d\n", send(id, 1, "x"), errno);
    return 0;
}
