// name_to_handle_at and open_by_handle_at (as root: CAP_DAC_READ_SEARCH) on a file the program writes in its working
// directory: the size probe (EOVERFLOW, handle_bytes filled in), the handle, the file opened again through it and read,
// AT_EMPTY_PATH on an open fd giving the same handle, and the errors for handle_bytes over MAX_HANDLE_SZ and a NULL path.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *err(int r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

int main(void) {
    const char *name = "fh_test.txt";
    int fd = open(name, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0 || write(fd, "handle me\n", 10) != 10) return 1;
    close(fd);

    struct file_handle *fh = malloc(sizeof *fh + MAX_HANDLE_SZ), *again = malloc(sizeof *fh + MAX_HANDLE_SZ);
    int mount_id = -1, mount_again = -2;
    fh->handle_bytes = 0;
    int r = name_to_handle_at(AT_FDCWD, name, fh, &mount_id, 0);
    printf("size probe: %s, handle_bytes filled in: %d\n", err(r), fh->handle_bytes > 0 && fh->handle_bytes <= MAX_HANDLE_SZ);

    fh->handle_bytes = MAX_HANDLE_SZ;
    r = name_to_handle_at(AT_FDCWD, name, fh, &mount_id, 0);
    printf("name_to_handle_at: %s, mount id set: %d\n", err(r), mount_id >= 0);

    int dir = open(".", O_RDONLY | O_DIRECTORY);
    int hfd = open_by_handle_at(dir, fh, O_RDONLY | O_CLOEXEC);
    char buf[32] = {0};
    if (hfd < 0) printf("open_by_handle_at: %s\n", err(hfd));
    else printf("read through the handle: %zd %s", read(hfd, buf, sizeof buf - 1), buf);
    printf("close-on-exec kept: %d\n", hfd >= 0 && (fcntl(hfd, F_GETFD) & FD_CLOEXEC) != 0);

    int ffd = open(name, O_RDONLY);
    again->handle_bytes = MAX_HANDLE_SZ;
    r = name_to_handle_at(ffd, "", again, &mount_again, AT_EMPTY_PATH);
    printf("AT_EMPTY_PATH: %s, same handle: %d, same mount: %d\n", err(r),
           r == 0 && again->handle_bytes == fh->handle_bytes && again->handle_type == fh->handle_type &&
               memcmp(again->f_handle, fh->f_handle, fh->handle_bytes) == 0,
           mount_again == mount_id);

    again->handle_bytes = MAX_HANDLE_SZ + 1;
    printf("handle_bytes over MAX_HANDLE_SZ: %s\n", err(name_to_handle_at(AT_FDCWD, name, again, &mount_again, 0)));
    printf("NULL path: %s\n", err(name_to_handle_at(AT_FDCWD, NULL, again, &mount_again, 0)));
    printf("NULL handle: %s\n", err(open_by_handle_at(dir, NULL, O_RDONLY)));
    unlink(name);
    return 0;
}
