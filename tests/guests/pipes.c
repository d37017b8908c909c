// Pipes inside one process: pipe/pipe2 (O_CLOEXEC, O_NONBLOCK), write then read,
// partial reads, EAGAIN on an empty non-blocking pipe, EOF after closing the write
// end, EPIPE/SIGPIPE when the read end is closed, poll readiness, FIONREAD.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void) {
    int p[2];
    char buf[128];
    printf("pipe: %d\n", pipe(p));
    printf("write: %zd\n", write(p[1], "hello pipe", 10));
    int avail = -1;
    ioctl(p[0], FIONREAD, &avail);
    printf("FIONREAD: %d\n", avail);
    memset(buf, 0, sizeof buf);
    printf("read 4: %zd [%.4s]\n", read(p[0], buf, 4), buf);
    memset(buf, 0, sizeof buf);
    printf("read rest: %zd [%s]\n", read(p[0], buf, sizeof buf), buf);
    printf("fd flags cloexec: %d %d\n", (fcntl(p[0], F_GETFD) & FD_CLOEXEC) != 0, (fcntl(p[1], F_GETFD) & FD_CLOEXEC) != 0);
    close(p[1]);
    printf("read at EOF: %zd\n", read(p[0], buf, sizeof buf));
    close(p[0]);

    printf("pipe2: %d\n", pipe2(p, O_CLOEXEC | O_NONBLOCK));
    printf("cloexec: %d nonblock: %d\n", (fcntl(p[0], F_GETFD) & FD_CLOEXEC) != 0, (fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0);
    errno = 0;
    ssize_t r = read(p[0], buf, sizeof buf);
    printf("empty nonblocking read: %zd errno=%s\n", r, errno == EAGAIN ? "EAGAIN" : "other");
    struct pollfd pf[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    int pr = poll(pf, 2, 0);
    printf("poll empty: %d in=%d out=%d\n", pr, (pf[0].revents & POLLIN) != 0, (pf[1].revents & POLLOUT) != 0);
    /* fill the pipe until EAGAIN, then drain and check the byte stream */
    long total = 0;
    unsigned char chunk[1000];
    for (;;) {
        for (int i = 0; i < 1000; i++) chunk[i] = (unsigned char)(total + i);
        ssize_t w = write(p[1], chunk, sizeof chunk);
        if (w < 0) { printf("full: errno=%s\n", errno == EAGAIN ? "EAGAIN" : "other"); break; }
        total += w;
    }
    printf("pipe capacity >= 4096: %d\n", total >= 4096);
    pf[0].revents = 0;
    pr = poll(pf, 1, 0);
    printf("poll full: %d in=%d\n", pr, (pf[0].revents & POLLIN) != 0);
    long got = 0, bad = 0;
    for (;;) {
        ssize_t n = read(p[0], chunk, 777);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; i++) if (chunk[i] != (unsigned char)(got + i)) bad++;
        got += n;
    }
    printf("drained all: %d bad=%ld\n", got == total, bad);
    /* write with the read end closed: SIGPIPE ignored -> EPIPE */
    signal(SIGPIPE, SIG_IGN);
    close(p[0]);
    errno = 0;
    r = write(p[1], "x", 1);
    printf("write to closed pipe: %zd errno=%s\n", r, errno == EPIPE ? "EPIPE" : "other");
    close(p[1]);
    /* a pipe as a FILE stream */
    pipe(p);
    FILE *w = fdopen(p[1], "w");
    fprintf(w, "%d %s %.2f\n", 7, "via stdio", 2.5);
    fclose(w);
    FILE *rd = fdopen(p[0], "r");
    int a; char word[16], word2[16]; double d;
    int got_n = fscanf(rd, "%d %15s %15s %lf", &a, word, word2, &d);
    printf("stdio over pipe: %d %d %s %s %.2f\n", got_n, a, word, word2, d);
    fclose(rd);
    return 0;
}
