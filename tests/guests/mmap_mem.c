// Memory management syscalls: anonymous mmap/munmap, MAP_FIXED replacement,
// mprotect (a write to a read-only page raises SIGSEGV, caught), mremap growth
// and moving, madvise(DONTNEED) zeroing, brk/sbrk growth and shrink, file-backed
// MAP_SHARED/MAP_PRIVATE mappings against read/write, msync, mincore.
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf jb;
static void on_segv(int sig) { siglongjmp(jb, sig); }

static int try_write(volatile char *p) {
    if (sigsetjmp(jb, 1) == 0) { *p = 42; return 0; }
    return 1;
}

int main(void) {
    long pg = sysconf(_SC_PAGESIZE);
    signal(SIGSEGV, on_segv);
    char *a = mmap(NULL, 16 * (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap ok=%d page aligned=%d\n", a != MAP_FAILED, ((uintptr_t)a % (uintptr_t)pg) == 0);
    int zero = 1;
    for (long i = 0; i < 16 * pg; i++) if (a[i]) zero = 0;
    printf("fresh anonymous memory zero=%d\n", zero);
    for (long i = 0; i < 16 * pg; i++) a[i] = (char)(i * 3);
    printf("mprotect ro=%d\n", mprotect(a + pg, (size_t)pg, PROT_READ));
    printf("write to ro page faults=%d, neighbour page ok=%d\n", try_write(a + pg + 5), !try_write(a + 2 * pg));
    printf("ro page still readable: %d\n", a[pg + 5] == (char)((pg + 5) * 3));
    printf("mprotect none=%d\n", mprotect(a + 3 * pg, (size_t)pg, PROT_NONE));
    printf("write to none page faults=%d\n", try_write(a + 3 * pg));
    mprotect(a + pg, 3 * (size_t)pg, PROT_READ | PROT_WRITE);
    printf("after restore faults=%d\n", try_write(a + pg));

    char *fx = mmap(a + 4 * pg, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("MAP_FIXED same address=%d zeroed=%d neighbour kept=%d\n", fx == a + 4 * pg, fx[0] == 0 && fx[pg - 1] == 0,
           a[5 * pg] == (char)(5 * pg * 3));
    printf("madvise DONTNEED=%d\n", madvise(a + 6 * pg, (size_t)pg, MADV_DONTNEED));
    printf("after DONTNEED zero=%d\n", a[6 * pg] == 0 && a[7 * pg - 1] == 0);
    printf("munmap middle=%d\n", munmap(a + 8 * pg, (size_t)pg));
    printf("unmapped page faults=%d\n", try_write(a + 8 * pg));
    unsigned char vec[4];
    printf("mincore=%d\n", mincore(a, 4 * (size_t)pg, vec));

    char *r = mremap(a + 9 * pg, 2 * (size_t)pg, 64 * (size_t)pg, MREMAP_MAYMOVE);
    printf("mremap grow ok=%d contents kept=%d new tail zero=%d\n", r != MAP_FAILED, r[0] == (char)(9 * pg * 3),
           r[63 * pg] == 0);
    munmap(r, 64 * (size_t)pg);
    munmap(a, 8 * (size_t)pg);
    munmap(a + 9 * pg, 7 * (size_t)pg);

    /* brk */
    char *b0 = sbrk(0);
    char *b1 = sbrk(3 * pg + 100);
    printf("sbrk returns old break=%d\n", b1 == b0);
    memset(b1, 0x7e, 3 * (size_t)pg + 100);
    char *b2 = sbrk(0);
    printf("break advanced by %ld\n", (long)(b2 - b0));
    printf("shrink=%d\n", brk(b0 + pg) == 0);
    printf("break now +%ld\n", (long)((char *)sbrk(0) - b0));
    printf("data kept below break=%d\n", b0[pg - 1] == 0x7e);
    brk(b0);

    /* file mappings */
    int fd = open("map.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
    char page[8192];
    for (int i = 0; i < 8192; i++) page[i] = (char)('a' + i % 26);
    write(fd, page, 8192);
    char *sh = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *pv = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("file maps ok=%d %d first=%c%c\n", sh != MAP_FAILED, pv != MAP_FAILED, sh[0], pv[4097]);
    memcpy(sh + 10, "SHARED", 6);
    memcpy(pv + 20, "PRIVATE", 7);
    printf("msync=%d\n", msync(sh, 8192, MS_SYNC));
    char rb[32] = {0};
    pread(fd, rb, 20, 8);
    printf("file after shared write: %.20s\n", rb);
    pread(fd, rb, 10, 18);
    printf("private write not in file: %.10s\n", rb);
    printf("private mapping sees shared write? %.6s\n", pv + 10);
    pwrite(fd, "XY", 2, 5000);
    printf("shared mapping sees pwrite: %c%c\n", sh[5000], sh[5001]);
    char *off = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 4096);
    printf("offset mapping first=%c\n", off[0]);
    munmap(off, 4096);
    munmap(sh, 8192);
    munmap(pv, 8192);
    close(fd);
    unlink("map.bin");
    printf("mmap bad fd fails=%d\n", mmap(NULL, 4096, PROT_READ, MAP_SHARED, 99, 0) == MAP_FAILED);
    printf("munmap unaligned fails=%d\n", munmap(a + 1, 10) != 0);
    return 0;
}
