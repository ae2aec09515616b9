/* fsctl: one request over the fairshare control socket, for the VM scenarios. The static
 * fairshare binary needs seconds to start under TCG; this answers in milliseconds, so a
 * scenario can sample the agent every second and time each answer.
 *
 * Usage: fsctl [-s SOCKET] [-t TIMEOUT_MS] [-r REQUEST] [-m [-o FILE]]
 *   -s SOCKET      the control socket (default /run/fairshare/fairshare.sock)
 *   -t TIMEOUT_MS  deadline for the whole exchange: connect (retried while the listen
 *                  backlog is full), send, and read the one response line (default 5000)
 *   -r REQUEST     the request line without its newline (default {"command":"status"})
 *   -m             measure: print "MS RESULT" instead of the response, where RESULT is
 *                  ok (a response with "ok":true), refused (the agent answered ok:false),
 *                  timeout, noagent (nothing listens), denied (EACCES), closed (the agent
 *                  hung up without a response line) or error
 *   -o FILE        with -m: also write the response line to FILE (one request both
 *                  timed and read)
 * Exit status: 0 ok, 1 refused/noagent/denied/closed/error, 2 timeout.
 * Without -m the raw response line is printed on stdout (nothing on a failure) and the
 * failure is named on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static long long t0;
static int measure;
static const char *out_path;

static int finish(const char *result, int code, const char *detail)
{
    if (measure)
        printf("%lld %s\n", now_ms() - t0, result);
    else if (code != 0)
        fprintf(stderr, "fsctl: %s%s%s\n", result, detail ? ": " : "", detail ? detail : "");
    return code;
}

/* wait_for FD EVENTS DEADLINE: 1 when ready, 0 at the deadline. */
static int wait_for(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = { .fd = fd, .events = events };
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return 1; /* let the following call report the error */
    }
}

int main(int argc, char **argv)
{
    const char *path = "/run/fairshare/fairshare.sock";
    const char *request = "{\"command\":\"status\"}";
    long timeout_ms = 5000;
    int opt;
    while ((opt = getopt(argc, argv, "s:t:r:mo:")) != -1) {
        switch (opt) {
        case 's': path = optarg; break;
        case 't': timeout_ms = atol(optarg); break;
        case 'r': request = optarg; break;
        case 'm': measure = 1; break;
        case 'o': out_path = optarg; break;
        default:
            fprintf(stderr, "usage: fsctl [-s SOCKET] [-t TIMEOUT_MS] [-r REQUEST] [-m [-o FILE]]\n");
            return 1;
        }
    }
    t0 = now_ms();
    long long deadline = t0 + timeout_ms;
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof addr.sun_path)
        return finish("error", 1, "socket path too long");
    strcpy(addr.sun_path, path);

    int fd = -1;
    for (;;) { /* a full backlog answers EAGAIN at once: retry until the deadline */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return finish("error", 1, strerror(errno));
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0)
            break;
        int e = errno;
        close(fd);
        if (e == ENOENT || e == ECONNREFUSED)
            return finish("noagent", 1, strerror(e));
        if (e == EACCES || e == EPERM)
            return finish("denied", 1, strerror(e));
        if (e != EAGAIN && e != EINTR)
            return finish("error", 1, strerror(e));
        if (now_ms() >= deadline)
            return finish("timeout", 2, "connect: listen backlog full");
        usleep(2000);
    }

    size_t len = strlen(request);
    char *line = malloc(len + 2);
    memcpy(line, request, len);
    line[len++] = '\n';
    for (size_t off = 0; off < len;) {
        if (!wait_for(fd, POLLOUT, deadline))
            return finish("timeout", 2, "sending the request");
        ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            return finish("closed", 1, strerror(errno));
        }
        off += (size_t)n;
    }

    size_t cap = 65536, used = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!wait_for(fd, POLLIN, deadline))
            return finish("timeout", 2, "waiting for the response");
        if (used + 4096 > cap) {
            if (cap >= (64u << 20))
                return finish("error", 1, "response larger than 64 MB");
            cap *= 2;
            buf = realloc(buf, cap);
        }
        ssize_t n = read(fd, buf + used, cap - used - 1);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            return finish("closed", 1, strerror(errno));
        }
        if (n == 0)
            return finish("closed", 1, used ? "no newline before the agent hung up" : "the agent hung up without answering");
        char *nl = memchr(buf + used, '\n', (size_t)n);
        used += (size_t)n;
        if (nl) {
            *nl = 0;
            int ok = strstr(buf, "\"ok\":true") != NULL;
            if (!measure)
                printf("%s\n", buf);
            FILE *out = out_path ? fopen(out_path, "w") : NULL;
            if (out) {
                fprintf(out, "%s\n", buf);
                fclose(out);
            }
            return ok ? finish("ok", 0, NULL) : finish("refused", 1, buf);
        }
    }
}
