/* Slow clients for a unix stream socket: the control-socket abuse of the tests, the socket
 * benchmark, forked in-process (the VM scenario has its own static tool, Tests/vm/slowclients.c,
 * whose report lines its checker reads). */
#ifndef FAIRSHARE_SLOWCLIENTS_H
#define FAIRSHARE_SLOWCLIENTS_H

#include <sys/types.h>

struct slowclients_options {
    const char *path;  /* the unix socket */
    int count;         /* connections held at once */
    double seconds;    /* how long to keep at it */
    int interval_ms;   /* each connection sends one byte this often; 0 = never sends a byte */
    int reconnect;     /* reopen a connection the server closed (1), or leave it closed (0) */
};

struct slowclients_stats {
    long connects;          /* connections established */
    long connect_failures;  /* connect() refused, queue full (EAGAIN) or failed otherwise */
    long bytes_sent;
    long closed_by_server;  /* connections that ended by the server's doing (EOF, reset, EPIPE) */
    long answers;           /* reads that returned data (the server's error lines) */
    long limit_answers;     /* ... of them containing "too many connections" */
    long timeout_answers;   /* ... of them containing "timed out" */
    long max_open;          /* most connections open at once */
    char first_answer[256]; /* the first line received, NUL-terminated */
};

/* Runs in this process until `seconds` have passed. Returns 0, or -1 with errno set. */
int slowclients_run(const struct slowclients_options *options, struct slowclients_stats *stats);

/* Forks a child that raises its descriptor limit, closes every inherited descriptor, drops to
 * uid/gid (with no supplementary groups; uid (uid_t)-1 keeps the caller's) and runs
 * slowclients_run; it dies with its parent. Returns the child's pid (and in *stats_fd a pipe
 * on which it writes its stats when done), or -1 with errno set. Only async-signal-safe work
 * and the loop itself run in the child, so it is safe to call from a multithreaded process. */
pid_t slowclients_spawn(const struct slowclients_options *options, uid_t uid, gid_t gid, int *stats_fd);

/* Waits for a spawned child and reads its stats. Returns 0 when the child ran to its end
 * (exit status 0 and a full stats record), else -1. */
int slowclients_wait(pid_t pid, int stats_fd, struct slowclients_stats *stats);

/* One request as uid/gid (a forked child that drops to them): sends `length` bytes of `request`
 * (as many as the server takes), reads the answer until the server closes, and returns it in
 * `answer` (NUL-terminated, at most capacity - 1 bytes). Returns 0, or -1 with errno set. */
int slowclients_exchange(const char *path, uid_t uid, gid_t gid, const char *request, size_t length, char *answer, size_t capacity);

#endif
