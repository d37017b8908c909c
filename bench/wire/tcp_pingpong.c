/* The wire's own cost for a remote page fault, without the emulator: two processes on 127.0.0.1, the client pinned
 * to one CPU and the server to another, the client sends a 16-byte request and waits for a 4 KiB reply (a page),
 * over one TCP connection with TCP_NODELAY. Mode "block": both sides sleep in recv() (a receive thread's cost,
 * every message wakes a sleeping thread); mode "poll": both sides spin on non-blocking recv() (the floor, what a
 * waiter that polls its socket pays). Prints the round trip's mean, p50, p99 and max in microseconds.
 *
 *   tcp_pingpong [rounds] [client_cpu] [server_cpu] [port] [block|poll]     (defaults 20000 0 1 39123 block)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { Request = 16, Reply = 4096 };

static void die(const char *what) { perror(what); exit(1); }

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) die("sched_setaffinity");
}

static int poll_mode;

/* read exactly n bytes; 0 on end of stream */
static int read_full(int fd, char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = recv(fd, p, n, poll_mode ? MSG_DONTWAIT : 0);
        if (r < 0 && poll_mode && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (r <= 0) return 0;
        p += r;
        n -= (size_t)r;
    }
    return 1;
}

static void write_full(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r <= 0) die("write");
        p += r;
        n -= (size_t)r;
    }
}

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 20000;
    int ccpu = argc > 2 ? atoi(argv[2]) : 0, scpu = argc > 3 ? atoi(argv[3]) : 1;
    int port = argc > 4 ? atoi(argv[4]) : 39123;
    const char *mode = argc > 5 ? argv[5] : "block";
    if (strcmp(mode, "block") != 0 && strcmp(mode, "poll") != 0) { fprintf(stderr, "tcp_pingpong: mode is block or poll\n"); return 2; }
    poll_mode = mode[0] == 'p';
    if (rounds < 100) { fprintf(stderr, "tcp_pingpong: at least 100 rounds\n"); return 2; }
    static char req[Request], page[Reply];
    memset(page, 0x5a, sizeof page);
    int one = 1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0) die("socket");
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0) die("bind");
    if (listen(ls, 1) != 0) die("listen");

    pid_t server = fork();
    if (server < 0) die("fork");
    if (server == 0) {
        pin(scpu);
        int s = accept(ls, NULL, NULL);
        if (s < 0) die("accept");
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        while (read_full(s, req, sizeof req)) write_full(s, page, sizeof page);
        _exit(0);
    }
    close(ls);
    pin(ccpu);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) != 0) die("connect");
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    int warm = rounds / 10;
    double *rtt = malloc(sizeof(double) * (size_t)rounds);
    if (!rtt) die("malloc");
    for (int i = -warm; i < rounds; i++) {
        double t0 = now_us();
        write_full(c, req, sizeof req);
        if (!read_full(c, page, sizeof page)) { fprintf(stderr, "tcp_pingpong: server closed\n"); return 1; }
        if (i >= 0) rtt[i] = now_us() - t0;
    }
    close(c);
    waitpid(server, NULL, 0);

    double sum = 0;
    for (int i = 0; i < rounds; i++) sum += rtt[i];
    qsort(rtt, (size_t)rounds, sizeof *rtt, cmp);
    printf("tcp ping-pong, %s (16 B request, 4 KiB reply, CPUs %d/%d): %d rounds, round trip mean %.1f us p50 %.1f p99 %.1f max %.1f\n",
           poll_mode ? "polling" : "blocking", ccpu, scpu, rounds, sum / rounds, rtt[rounds / 2], rtt[rounds * 99 / 100], rtt[rounds - 1]);
    return 0;
}
