/* slowclients: hold many slow connections to a unix stream socket, as a hostile local user
 * would against the agent's control socket (issue 8: "300 slow connections made root's
 * status fail").
 *
 * Usage: slowclients -s SOCKET -n CONNECTIONS -d SECONDS [-u UID] [-g GID] [-G GID,GID...]
 *                    [-i INTERVAL_MS] [-r REPORT_S]
 *   -s SOCKET       the unix socket to connect to
 *   -n CONNECTIONS  how many connections to keep open at once
 *   -d SECONDS      how long to keep at it, then close everything and exit
 *   -u UID -g GID   drop to this user and group first (as root; the descriptor limit is
 *                   raised to CONNECTIONS + 64 before dropping)
 *   -G GIDS         supplementary groups after the drop (comma-separated; default none),
 *                   e.g. the socket's group for a user an admin granted access
 *   -i INTERVAL_MS  each open connection gets one byte per interval (default 1000): a '{'
 *                   then spaces, never a newline, so a request never completes
 *   -r REPORT_S     print a report line every REPORT_S seconds (default 5)
 * A connection the server closes is counted and opened again at the next interval, as a
 * persistent attacker would. Connect attempts are non-blocking: a full listen backlog
 * (EAGAIN) is retried at the next interval.
 * Report lines (stdout): "slowclients t=S open=O connects=C closed_by_peer=P
 *   backlog_full=B refused=R denied=D errors=E bytes=N", the last one prefixed "final"
 *   (refused: nothing listens; denied: EACCES on connect, the user may not use the socket).
 * Exit status: 0, or 1 on a usage or setup error (the message on stderr). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

struct slot {
    int fd;        /* -1: not connected */
    int sent;      /* bytes sent on this connection */
};

static long connects, closed_by_peer, backlog_full, refused, denied, errors, bytes;

static void report(const char *prefix, long long t0, int open)
{
    printf("%sslowclients t=%lld open=%d connects=%ld closed_by_peer=%ld backlog_full=%ld refused=%ld denied=%ld errors=%ld bytes=%ld\n",
           prefix, (now_ms() - t0) / 1000, open, connects, closed_by_peer, backlog_full, refused, denied, errors, bytes);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *path = NULL, *gids = NULL;
    long n = 0, seconds = 0, interval_ms = 1000, report_s = 5;
    long uid = -1, gid = -1;
    int opt;
    while ((opt = getopt(argc, argv, "s:n:d:u:g:G:i:r:")) != -1) {
        switch (opt) {
        case 's': path = optarg; break;
        case 'n': n = atol(optarg); break;
        case 'd': seconds = atol(optarg); break;
        case 'u': uid = atol(optarg); break;
        case 'g': gid = atol(optarg); break;
        case 'G': gids = optarg; break;
        case 'i': interval_ms = atol(optarg); break;
        case 'r': report_s = atol(optarg); break;
        default: goto usage;
        }
    }
    if (!path || n <= 0 || seconds <= 0 || interval_ms <= 0 || report_s <= 0 || (uid < 0) != (gid < 0))
        goto usage;

    struct rlimit rl = { .rlim_cur = (rlim_t)n + 64, .rlim_max = (rlim_t)n + 64 };
    struct rlimit have;
    getrlimit(RLIMIT_NOFILE, &have);
    if (have.rlim_cur < rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        fprintf(stderr, "slowclients: cannot raise the descriptor limit to %ld: %s\n", n + 64, strerror(errno));
        return 1;
    }
    if (uid >= 0) {
        gid_t list[32];
        int count = 0;
        for (char *s = gids ? strdup(gids) : NULL, *tok = s ? strtok(s, ",") : NULL; tok && count < 32; tok = strtok(NULL, ","))
            list[count++] = (gid_t)atol(tok);
        if (setgroups((size_t)count, list) != 0 || setgid((gid_t)gid) != 0 || setuid((uid_t)uid) != 0) {
            fprintf(stderr, "slowclients: cannot become uid %ld gid %ld: %s\n", uid, gid, strerror(errno));
            return 1;
        }
    }

    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof addr.sun_path) {
        fprintf(stderr, "slowclients: socket path too long: %s\n", path);
        return 1;
    }
    strcpy(addr.sun_path, path);
    struct slot *slots = calloc((size_t)n, sizeof *slots);
    for (long i = 0; i < n; i++)
        slots[i].fd = -1;

    long long t0 = now_ms(), end = t0 + seconds * 1000LL, next_report = t0 + report_s * 1000LL;
    int open = 0;
    char junk[4096];
    while (now_ms() < end) {
        long long tick = now_ms();
        for (long i = 0; i < n; i++) {
            struct slot *s = &slots[i];
            if (s->fd >= 0) { /* closed by the server? (it may first send an error line) */
                struct pollfd p = { .fd = s->fd, .events = POLLIN };
                if (poll(&p, 1, 0) > 0) {
                    ssize_t r = read(s->fd, junk, sizeof junk);
                    if (r == 0 || (r < 0 && errno != EAGAIN) || (p.revents & (POLLHUP | POLLERR))) {
                        close(s->fd);
                        s->fd = -1;
                        open--;
                        closed_by_peer++;
                    }
                }
            }
            if (s->fd < 0) {
                int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (fd < 0) {
                    errors++;
                    continue;
                }
                if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
                    int e = errno;
                    close(fd);
                    if (e == EAGAIN)
                        backlog_full++;
                    else if (e == ECONNREFUSED || e == ENOENT)
                        refused++;
                    else if (e == EACCES || e == EPERM)
                        denied++;
                    else
                        errors++;
                    continue;
                }
                s->fd = fd;
                s->sent = 0;
                open++;
                connects++;
            }
            char byte = s->sent == 0 ? '{' : ' ';
            if (send(s->fd, &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) {
                s->sent++;
                bytes++;
            } else if (errno != EAGAIN) {
                close(s->fd);
                s->fd = -1;
                open--;
                closed_by_peer++;
            }
        }
        if (now_ms() >= next_report) {
            report("", t0, open);
            next_report += report_s * 1000LL;
        }
        long long wait = tick + interval_ms - now_ms();
        if (wait > 0)
            usleep((useconds_t)(wait * 1000));
    }
    report("final ", t0, open);
    return 0;

usage:
    fprintf(stderr, "usage: slowclients -s SOCKET -n CONNECTIONS -d SECONDS [-u UID -g GID] [-G GIDS] [-i INTERVAL_MS] [-r REPORT_S]\n");
    return 1;
}
