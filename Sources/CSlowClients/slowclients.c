/* Slow clients for a unix stream socket; see include/slowclients.h. Plain C with no allocation
 * after fork, so a Swift test process (many threads) can fork it safely. */
#define _GNU_SOURCE
#include "include/slowclients.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double slowclients_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Non-blocking: a full listen queue is EAGAIN at once, counted, and retried at the next tick. */
static int slowclients_open(const struct sockaddr_un *addr, struct slowclients_stats *stats) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        stats->connect_failures++;
        return -1;
    }
    if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) != 0) {
        close(fd);
        stats->connect_failures++;
        return -1;
    }
    stats->connects++;
    return fd;
}

/* A slot's descriptor: >= 0 open, -1 to be (re)opened at the next tick, -2 closed for good. */
static int slowclients_loop(const struct slowclients_options *o, struct slowclients_stats *stats,
                            int *fds, struct pollfd *pfds, int *slot_of) {
    memset(stats, 0, sizeof *stats);
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t len = strlen(o->path);
    if (len >= sizeof addr.sun_path || o->count < 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(addr.sun_path, o->path, len);
    for (int i = 0; i < o->count; i++) fds[i] = -1;

    const double tick = o->interval_ms > 0 ? o->interval_ms / 1000.0 : 1.0;
    const double end = slowclients_now() + o->seconds;
    double next_tick = slowclients_now();
    long open_now = 0;
    for (;;) {
        double t = slowclients_now();
        if (t >= end) break;
        if (t >= next_tick) {
            for (int i = 0; i < o->count; i++) {
                if (fds[i] == -1) {
                    fds[i] = slowclients_open(&addr, stats);
                    if (fds[i] >= 0) open_now++;
                } else if (fds[i] >= 0 && o->interval_ms > 0) {
                    /* A space: valid leading JSON whitespace, so a server can not refuse it early. */
                    ssize_t n = send(fds[i], " ", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                    if (n == 1) {
                        stats->bytes_sent++;
                    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        close(fds[i]);
                        fds[i] = o->reconnect ? -1 : -2;
                        open_now--;
                        stats->closed_by_server++;
                    }
                }
            }
            if (open_now > stats->max_open) stats->max_open = open_now;
            next_tick += tick;
            if (next_tick < t) next_tick = t + tick; /* late (a loaded machine): no catch-up burst */
        }
        int n = 0;
        for (int i = 0; i < o->count; i++) {
            if (fds[i] >= 0) {
                pfds[n].fd = fds[i];
                pfds[n].events = POLLIN;
                pfds[n].revents = 0;
                slot_of[n++] = i;
            }
        }
        double until = next_tick < end ? next_tick : end;
        int wait_ms = (int)((until - slowclients_now()) * 1000.0 + 0.999);
        if (wait_ms < 0) wait_ms = 0;
        int ready = poll(pfds, (nfds_t)n, wait_ms);
        if (ready < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        for (int k = 0; k < n && ready > 0; k++) {
            if (pfds[k].revents == 0) continue;
            ready--;
            int i = slot_of[k];
            char buf[512];
            ssize_t m = recv(fds[i], buf, sizeof buf - 1, MSG_DONTWAIT);
            if (m > 0) {
                buf[m] = 0;
                stats->answers++;
                if (strstr(buf, "too many connections")) stats->limit_answers++;
                if (strstr(buf, "timed out")) stats->timeout_answers++;
                if (stats->first_answer[0] == 0) {
                    size_t keep = strcspn(buf, "\n");
                    if (keep >= sizeof stats->first_answer) keep = sizeof stats->first_answer - 1;
                    memcpy(stats->first_answer, buf, keep);
                    stats->first_answer[keep] = 0;
                }
            } else if (m == 0 || (errno != EAGAIN && errno != EINTR)) {
                close(fds[i]);
                fds[i] = o->reconnect ? -1 : -2;
                open_now--;
                stats->closed_by_server++;
            }
        }
    }
    for (int i = 0; i < o->count; i++)
        if (fds[i] >= 0) close(fds[i]);
    return 0;
}

struct slowclients_buffers {
    int *fds;
    struct pollfd *pfds;
    int *slot_of;
};

static int slowclients_allocate(int count, struct slowclients_buffers *b) {
    size_t n = count > 0 ? (size_t)count : 1;
    b->fds = calloc(n, sizeof *b->fds);
    b->pfds = calloc(n, sizeof *b->pfds);
    b->slot_of = calloc(n, sizeof *b->slot_of);
    if (!b->fds || !b->pfds || !b->slot_of) {
        free(b->fds);
        free(b->pfds);
        free(b->slot_of);
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

static void slowclients_free(struct slowclients_buffers *b) {
    free(b->fds);
    free(b->pfds);
    free(b->slot_of);
}

int slowclients_run(const struct slowclients_options *o, struct slowclients_stats *stats) {
    struct slowclients_buffers b;
    if (slowclients_allocate(o->count, &b) != 0) return -1;
    int rc = slowclients_loop(o, stats, b.fds, b.pfds, b.slot_of);
    slowclients_free(&b);
    return rc;
}

pid_t slowclients_spawn(const struct slowclients_options *o, uid_t uid, gid_t gid, int *stats_fd) {
    struct slowclients_buffers b;
    if (slowclients_allocate(o->count, &b) != 0) return -1;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        slowclients_free(&b);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* The stats pipe becomes fd 3. Every other inherited descriptor goes: a copy of the
         * parent's server sockets held here would keep connections open after it closed them. */
        if (p[1] != 3 && dup2(p[1], 3) < 0) _exit(120);
        if (syscall(SYS_close_range, 4U, ~0U, 0U) != 0) {
            struct rlimit rl;
            int top = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1048576 ? (int)rl.rlim_cur : 65536;
            for (int fd = 4; fd < top; fd++) close(fd);
        }
        struct rlimit want = {(rlim_t)o->count + 64, (rlim_t)o->count + 64};
        struct rlimit have;
        if (getrlimit(RLIMIT_NOFILE, &have) == 0 && have.rlim_cur < want.rlim_cur) {
            if (setrlimit(RLIMIT_NOFILE, &want) != 0 && have.rlim_max >= want.rlim_cur) {
                want.rlim_max = have.rlim_max;
                setrlimit(RLIMIT_NOFILE, &want);
            }
        }
        if (uid != (uid_t)-1) {
            if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(121);
        }
        /* No PR_SET_PDEATHSIG: it fires when the forking *thread* exits, and the test pool's
         * idle worker threads exit after a few seconds, which killed runs longer than that.
         * The loop ends by itself after o->seconds, so the child never outlives a test by much. */
        if (getppid() != parent) _exit(122);
        struct slowclients_stats stats;
        int rc = slowclients_loop(o, &stats, b.fds, b.pfds, b.slot_of);
        const char *out = (const char *)&stats;
        size_t left = sizeof stats;
        while (left > 0) {
            ssize_t w = write(3, out, left);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;
            out += w;
            left -= (size_t)w;
        }
        _exit(rc == 0 ? 0 : 123);
    }
    int saved = errno;
    slowclients_free(&b);
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        errno = saved;
        return -1;
    }
    *stats_fd = p[0];
    return pid;
}

int slowclients_wait(pid_t pid, int stats_fd, struct slowclients_stats *stats) {
    size_t got = 0;
    char *in = (char *)stats;
    memset(stats, 0, sizeof *stats);
    while (got < sizeof *stats) {
        ssize_t r = read(stats_fd, in + got, sizeof *stats - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(stats_fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return got == sizeof *stats && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int slowclients_exchange(const char *path, uid_t uid, gid_t gid, const char *request, size_t length, char *answer, size_t capacity) {
    if (capacity == 0) {
        errno = EINVAL;
        return -1;
    }
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(addr.sun_path, path);
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        /* The answer pipe becomes fd 3; no other inherited descriptor stays (as in spawn). */
        if (p[1] != 3 && dup2(p[1], 3) < 0) _exit(120);
        if (syscall(SYS_close_range, 4U, ~0U, 0U) != 0) _exit(120);
        if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(121);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (const struct sockaddr *)&addr, sizeof addr) != 0) _exit(122);
        /* Sends what the server takes; it may stop reading (and close) before the end. */
        size_t sent = 0;
        while (sent < length) {
            ssize_t w = send(fd, request + sent, length - sent, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;
            sent += (size_t)w;
        }
        char buf[4096];
        for (;;) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            if (write(3, buf, (size_t)n) != n) break;
        }
        _exit(0);
    }
    int saved = errno;
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        errno = saved;
        return -1;
    }
    size_t got = 0;
    for (;;) {
        ssize_t n = read(p[0], answer + got, capacity - 1 - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
        if (got == capacity - 1) break;
    }
    answer[got] = 0;
    close(p[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
