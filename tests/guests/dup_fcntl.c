// File descriptor operations: dup/dup2/dup3 (shared offsets, O_CLOEXEC), fcntl
// F_DUPFD/F_DUPFD_CLOEXEC/F_GETFD/F_SETFD/F_GETFL/F_SETFL, lowest-free-fd rule,
// EBADF cases, and redirecting stdout to a file and back.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *en(void) { return errno == EBADF ? "EBADF" : errno == EINVAL ? "EINVAL" : "other"; }

int main(void) {
    int fd = open("f.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    printf("open -> lowest free fd 3: %d\n", fd == 3);
    write(fd, "0123456789", 10);
    int d1 = dup(fd);
    printf("dup -> %d (next)\n", d1 - fd);
    lseek(d1, 2, SEEK_SET);
    char c;
    read(fd, &c, 1);
    printf("shared offset: read '%c' via original after seek on dup\n", c);
    printf("dup cloexec: %d\n", fcntl(d1, F_GETFD));
    int d2 = dup2(fd, 10);
    printf("dup2 -> %d\n", d2);
    printf("dup2 same fd -> %d\n", dup2(fd, fd));
    int d3 = dup3(fd, 11, O_CLOEXEC);
    printf("dup3 -> %d cloexec=%d\n", d3, (fcntl(d3, F_GETFD) & FD_CLOEXEC) != 0);
    errno = 0;
    printf("dup3 same fd -> %d %s\n", dup3(fd, fd, 0), en());
    errno = 0;
    printf("dup3 bad flags -> %d %s\n", dup3(fd, 12, 12345), en());
    int d4 = fcntl(fd, F_DUPFD, 20);
    printf("F_DUPFD >=20 -> %d\n", d4);
    int d5 = fcntl(fd, F_DUPFD_CLOEXEC, 20);
    printf("F_DUPFD_CLOEXEC -> %d cloexec=%d\n", d5, fcntl(d5, F_GETFD));
    printf("F_SETFD -> %d, now %d\n", fcntl(d4, F_SETFD, FD_CLOEXEC), fcntl(d4, F_GETFD));
    int fl = fcntl(fd, F_GETFL);
    printf("F_GETFL accmode=RDWR %d append=%d\n", (fl & O_ACCMODE) == O_RDWR, (fl & O_APPEND) != 0);
    printf("F_SETFL append -> %d\n", fcntl(fd, F_SETFL, fl | O_APPEND));
    fl = fcntl(d1, F_GETFL);
    printf("append visible through dup: %d\n", (fl & O_APPEND) != 0);
    write(d2, "END", 3);
    off_t size = lseek(fd, 0, SEEK_END);
    printf("size after append write=%lld\n", (long long)size);
    close(d1);
    int d6 = dup(fd);
    printf("lowest free reused: %d\n", d6 == d1);
    errno = 0;
    printf("dup(99) -> %d %s\n", dup(99), en());
    errno = 0;
    printf("fcntl(99, F_GETFD) -> %d %s\n", fcntl(99, F_GETFD), en());
    errno = 0;
    printf("close(-1) -> %d %s\n", close(-1), en());

    /* redirect stdout into the file, then restore it */
    fflush(stdout);
    int saved = dup(1);
    int rf = open("redirect.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    dup2(rf, 1);
    close(rf);
    printf("this line goes to the file\n");
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    char buf[64] = {0};
    int in = open("redirect.txt", O_RDONLY);
    ssize_t n = read(in, buf, sizeof buf - 1);
    close(in);
    printf("file got %zd bytes: %s", n, buf);
    for (int i = 3; i < 32; i++) close(i);
    unlink("f.txt");
    unlink("redirect.txt");
    int again = open("/dev/null", O_RDONLY);
    printf("after closing all, open -> %d\n", again);
    return 0;
}
