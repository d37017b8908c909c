// File I/O round trips in the current directory (the harness gives each run a fresh
// empty one): open/creat/write/lseek/read/pread/pwrite/readv/writev/ftruncate/fsync/
// fstat/stat/lstat/access/rename/link/symlink/readlink/unlink/mkdir/rmdir/openat/
// O_APPEND/O_EXCL, errno values, opendir/readdir (sorted), and stdio fopen/fgets.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHECK(expr) do { long _r = (long)(expr); printf("%-58s -> %ld%s%s\n", #expr, _r, _r < 0 ? " errno=" : "", _r < 0 ? strerrorname_np(errno) : ""); } while (0)

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list_dir(const char *path) {
    DIR *d = opendir(path);
    if (!d) { printf("opendir %s failed: %s\n", path, strerrorname_np(errno)); return; }
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) {
        char type = e->d_type == DT_DIR ? 'd' : e->d_type == DT_REG ? 'f' : e->d_type == DT_LNK ? 'l' : '?';
        char *s = malloc(strlen(e->d_name) + 3);
        sprintf(s, "%s:%c", e->d_name, type);
        names[n++] = s;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmpstr);
    printf("dir %s (%d):", path, n);
    for (int i = 0; i < n; i++) { printf(" %s", names[i]); free(names[i]); }
    printf("\n");
}

int main(void) {
    umask(022);
    char buf[256];
    struct stat st;
    CHECK(mkdir("d", 0755));
    CHECK(mkdir("d", 0755));
    int fd = open("d/a.txt", O_CREAT | O_TRUNC | O_RDWR, 0666);
    CHECK(fd >= 0);
    CHECK(write(fd, "hello, world\n", 13));
    CHECK(write(fd, "second line\n", 12));
    CHECK(lseek(fd, 0, SEEK_CUR));
    CHECK(lseek(fd, 7, SEEK_SET));
    memset(buf, 0, sizeof buf);
    CHECK(read(fd, buf, 5));
    printf("read: [%s]\n", buf);
    CHECK(lseek(fd, -4, SEEK_END));
    memset(buf, 0, sizeof buf);
    CHECK(read(fd, buf, 100));
    printf("read at end-4: [%s]\n", buf);
    CHECK(read(fd, buf, 100));
    CHECK(pwrite(fd, "HELLO", 5, 0));
    memset(buf, 0, sizeof buf);
    CHECK(pread(fd, buf, 12, 0));
    printf("pread: [%s]\n", buf);
    CHECK(lseek(fd, 0, SEEK_CUR));
    CHECK(lseek(fd, 100, SEEK_SET));
    CHECK(write(fd, "X", 1));
    CHECK(fstat(fd, &st));
    printf("size=%lld mode=%o nlink=%lu isreg=%d blksize>0=%d\n", (long long)st.st_size, st.st_mode & 07777,
           (unsigned long)st.st_nlink, S_ISREG(st.st_mode), st.st_blksize > 0);
    CHECK(pread(fd, buf, 10, 50));
    printf("hole bytes zero=%d\n", buf[0] == 0 && buf[9] == 0);
    CHECK(ftruncate(fd, 20));
    CHECK(fsync(fd));
    CHECK(fstat(fd, &st));
    printf("size after truncate=%lld\n", (long long)st.st_size);
    struct iovec iov[3] = {{"abc", 3}, {"", 0}, {"defgh", 5}};
    CHECK(lseek(fd, 0, SEEK_END));
    CHECK(writev(fd, iov, 3));
    char r1[4] = {0}, r2[10] = {0};
    struct iovec rv[2] = {{r1, 3}, {r2, 9}};
    CHECK(lseek(fd, 18, SEEK_SET));
    CHECK(readv(fd, rv, 2));
    printf("readv: [%s] [%s]\n", r1, r2);
    CHECK(close(fd));
    CHECK(close(fd));

    CHECK(stat("d/a.txt", &st));
    printf("stat size=%lld\n", (long long)st.st_size);
    CHECK(stat("d/missing", &st));
    CHECK(open("d/missing", O_RDONLY));
    CHECK(open("d/a.txt", O_CREAT | O_EXCL | O_WRONLY, 0600));
    CHECK(access("d/a.txt", R_OK | W_OK));
    CHECK(access("d/nope", F_OK));
    CHECK(rename("d/a.txt", "d/b.txt"));
    CHECK(link("d/b.txt", "d/c.txt"));
    CHECK(stat("d/c.txt", &st));
    printf("nlink after link=%lu\n", (unsigned long)st.st_nlink);
    CHECK(symlink("b.txt", "d/sym"));
    memset(buf, 0, sizeof buf);
    CHECK(readlink("d/sym", buf, sizeof buf));
    printf("readlink: [%s]\n", buf);
    CHECK(lstat("d/sym", &st));
    printf("lstat islnk=%d\n", S_ISLNK(st.st_mode));
    CHECK(stat("d/sym", &st));
    printf("stat through link isreg=%d size=%lld\n", S_ISREG(st.st_mode), (long long)st.st_size);

    fd = open("d/app.log", O_CREAT | O_WRONLY | O_APPEND, 0640);
    CHECK(fd >= 0);
    CHECK(write(fd, "one\n", 4));
    CHECK(lseek(fd, 0, SEEK_SET));
    CHECK(write(fd, "two\n", 4));
    CHECK(close(fd));
    CHECK(stat("d/app.log", &st));
    printf("append size=%lld mode=%o\n", (long long)st.st_size, st.st_mode & 0777);

    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    int f2 = openat(dfd, "at.txt", O_CREAT | O_RDWR, 0600);
    CHECK(f2 >= 0);
    CHECK(write(f2, "via openat", 10));
    CHECK(close(f2));
    CHECK(fstatat(dfd, "at.txt", &st, 0));
    printf("fstatat size=%lld\n", (long long)st.st_size);
    CHECK(mkdirat(dfd, "sub", 0700));
    CHECK(close(dfd));
    list_dir("d");
    list_dir(".");

    FILE *f = fopen("d/stdio.txt", "w+");
    for (int i = 0; i < 100; i++) fprintf(f, "line %d: %d\n", i, i * i);
    rewind(f);
    int lines = 0;
    long total = 0;
    while (fgets(buf, sizeof buf, f)) { lines++; total += atoi(strchr(buf, ':') + 1); }
    printf("stdio lines=%d total=%ld ftell=%ld\n", lines, total, ftell(f));
    fclose(f);
    /* a bigger file written and read back in odd chunks */
    fd = open("big.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
    static unsigned char big[200000];
    for (int i = 0; i < (int)sizeof big; i++) big[i] = (unsigned char)(i * 7 + (i >> 9));
    CHECK(write(fd, big, sizeof big));
    CHECK(lseek(fd, 0, SEEK_SET));
    unsigned long sum = 0;
    ssize_t got;
    while ((got = read(fd, buf, 173)) > 0)
        for (ssize_t i = 0; i < got; i++) sum = sum * 31 + (unsigned char)buf[i];
    printf("big checksum=%lx\n", sum);
    CHECK(close(fd));

    CHECK(rmdir("d"));
    CHECK(unlink("d/sym"));
    CHECK(unlink("d/b.txt"));
    CHECK(unlink("d/c.txt"));
    CHECK(unlink("d/app.log"));
    CHECK(unlink("d/at.txt"));
    CHECK(unlink("d/stdio.txt"));
    CHECK(rmdir("d/sub"));
    CHECK(rmdir("d"));
    CHECK(unlink("big.bin"));
    list_dir(".");
    return 0;
}
