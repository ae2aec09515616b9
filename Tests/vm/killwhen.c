/* killwhen: SIGKILL a process the instant any of some files gains a line, e.g. the agent as
 * soon as the first process lands in one of its groups (issue 8's reproduction: the kill
 * falls between the moves of a pass and the write of the origin ledger). A shell loop under
 * TCG polls far too slowly for that.
 *
 * Usage: killwhen -p PID [-t TIMEOUT_MS] [-i POLL_US] FILE...
 *   -p PID         the process to kill
 *   -t TIMEOUT_MS  give up after this long (default 30000): nothing is killed
 *   -i POLL_US     pause between two rounds of reads (default 200 microseconds)
 *   FILE...        files read in turn, e.g. GROUP/cgroup.procs: fires when one has more
 *                  lines than at the start (a missing file has none)
 * Prints "fired MS FILE" (the delay from start and the file that grew) or
 * "timeout MS" / "gone MS" (PID exited first). Exit status: 0 fired, 2 timeout, 3 gone. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* lines_of FILE: its number of newlines, 0 when it cannot be read. */
static long lines_of(const char *path)
{
    char buf[65536];
    long lines = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
    close(fd);
    return lines;
}

int main(int argc, char **argv)
{
    long pid = 0, timeout_ms = 30000, poll_us = 200;
    int opt;
    while ((opt = getopt(argc, argv, "p:t:i:")) != -1) {
        switch (opt) {
        case 'p': pid = atol(optarg); break;
        case 't': timeout_ms = atol(optarg); break;
        case 'i': poll_us = atol(optarg); break;
        default: goto usage;
        }
    }
    if (pid <= 1 || optind >= argc)
        goto usage;
    long long t0 = now_ms();
    long *initial = calloc((size_t)argc, sizeof *initial);
    for (int i = optind; i < argc; i++)
        initial[i] = lines_of(argv[i]);
    for (;;) {
        for (int i = optind; i < argc; i++) {
            if (lines_of(argv[i]) > initial[i]) {
                kill((pid_t)pid, SIGKILL);
                printf("fired %lld %s\n", now_ms() - t0, argv[i]);
                return 0;
            }
        }
        if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
            printf("gone %lld\n", now_ms() - t0);
            return 3;
        }
        if (now_ms() - t0 >= timeout_ms) {
            printf("timeout %lld\n", now_ms() - t0);
            return 2;
        }
        usleep((useconds_t)poll_us);
    }
usage:
    fprintf(stderr, "usage: killwhen -p PID [-t TIMEOUT_MS] [-i POLL_US] FILE...\n");
    return 1;
}
