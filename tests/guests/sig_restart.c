// A blocking read interrupted by a signal: with SA_RESTART the read resumes after the handler and
// returns the data written later; without it the read fails with EINTR.
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fds[2];
static pthread_t reader;
static volatile int handled;

static void on_usr1(int sig) { (void)sig; handled++; }

static void *poker(void *arg) {
    (void)arg;
    usleep(50000);
    pthread_kill(reader, SIGUSR1);
    usleep(50000);
    write(fds[1], "x", 1);
    return NULL;
}

static void attempt(int flags, const char *label) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = flags;
    sigaction(SIGUSR1, &sa, NULL);
    pipe(fds);
    reader = pthread_self();
    pthread_t t;
    pthread_create(&t, NULL, poker, NULL);
    char c = 0;
    ssize_t n = read(fds[0], &c, 1);
    int e = errno;
    pthread_join(t, NULL);
    if (n < 0) printf("%s: read -> -1 %s, handler ran %d\n", label, e == EINTR ? "EINTR" : "other", handled);
    else printf("%s: read -> %zd '%c', handler ran %d\n", label, n, c, handled);
    close(fds[0]);
    close(fds[1]);
}

int main(void) {
    attempt(SA_RESTART, "SA_RESTART");
    attempt(0, "no SA_RESTART");
    return 0;
}
