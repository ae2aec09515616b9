/* slowclients: hold many slow connections to a unix stream socket, as a hostile local user
 * would against the agent's control socket.
 *
 *   slowclients [-u UID] [-g GID] [-i MS] [-1] SOCKET COUNT SECONDS
 *
 *   SOCKET   the unix socket (e.g. /run/fairshare/fairshare.sock)
 *   COUNT    connections held at once
 *   SECONDS  how long to keep at it (fractions allowed)
 *   -u UID   drop to this uid first (needs root; supplementary groups are cleared)
 *   -g GID   with -u: this gid (default: the same number as UID)
 *   -i MS    every connection sends one byte (a space) every MS ms; default 1000;
 *            0 connects and sends nothing
 *   -1       do not reopen a connection the server closed (default: reopen it at the next tick)
 *
 * Connections are non-blocking: a full listen queue counts as a failed connect and is retried
 * at the next tick. At the end it prints one line of counts (connects, failed connects, bytes
 * sent, connections the server closed, answers received and how many said "too many
 * connections" or "timed out", most open at once, the first answer) and exits 0; 1 on an error,
 * 2 on a usage error. For the socket-abuse VM scenario: 1000 connections from nobody,
 * one byte a second, while root runs `fairshare status`:
 *
 *   slowclients -u 65534 -g 65534 /run/fairshare/fairshare.sock 1000 60
 *
 * (the socket is 0660 root:fairshare, so the uid must be in the fairshare group to connect at
 * all: give -g the fairshare group's id, or expect only "permission denied" failures).
 *
 * Build (static, for the guest): gcc -static -O2 -Wall -o slowclients Tests/vm/slowclients.c
 * The loop itself is Sources/CSlowClients/slowclients.c, shared with the unit tests and
 * `fairshare-bench socket`. */
#include "../../Sources/CSlowClients/slowclients.c"

#include <stdio.h>

static int usage(void) {
    fprintf(stderr, "usage: slowclients [-u UID] [-g GID] [-i MS] [-1] SOCKET COUNT SECONDS\n");
    return 2;
}

int main(int argc, char **argv) {
    long uid = -1, gid = -1;
    struct slowclients_options o = {.interval_ms = 1000, .reconnect = 1};
    int opt;
    while ((opt = getopt(argc, argv, "u:g:i:1")) != -1) {
        char *end = NULL;
        switch (opt) {
        case 'u': uid = strtol(optarg, &end, 10); break;
        case 'g': gid = strtol(optarg, &end, 10); break;
        case 'i': o.interval_ms = (int)strtol(optarg, &end, 10); break;
        case '1': o.reconnect = 0; break;
        default: return usage();
        }
        if (end && (*end || end == optarg)) return usage();
    }
    if (argc - optind != 3) return usage();
    o.path = argv[optind];
    char *end;
    o.count = (int)strtol(argv[optind + 1], &end, 10);
    if (*end || o.count < 1) return usage();
    o.seconds = strtod(argv[optind + 2], &end);
    if (*end || o.seconds <= 0 || o.interval_ms < 0 || (gid >= 0 && uid < 0)) return usage();

    struct rlimit want = {(rlim_t)o.count + 64, (rlim_t)o.count + 64};
    struct rlimit have;
    if (getrlimit(RLIMIT_NOFILE, &have) == 0 && have.rlim_cur < want.rlim_cur && setrlimit(RLIMIT_NOFILE, &want) != 0) {
        fprintf(stderr, "slowclients: cannot raise the descriptor limit to %lu: %s\n", (unsigned long)want.rlim_cur, strerror(errno));
        return 1;
    }
    if (uid >= 0) {
        if (gid < 0) gid = uid;
        if (setgroups(0, NULL) != 0 || setgid((gid_t)gid) != 0 || setuid((uid_t)uid) != 0) {
            fprintf(stderr, "slowclients: cannot become uid %ld gid %ld: %s\n", uid, gid, strerror(errno));
            return 1;
        }
    }
    struct slowclients_stats s;
    if (slowclients_run(&o, &s) != 0) {
        fprintf(stderr, "slowclients: %s: %s\n", o.path, strerror(errno));
        return 1;
    }
    printf("slowclients: %d connections to %s for %.1f s as uid %ld: connects=%ld connect_failures=%ld bytes_sent=%ld "
           "closed_by_server=%ld answers=%ld limit_answers=%ld timeout_answers=%ld max_open=%ld first_answer=%s\n",
           o.count, o.path, o.seconds, uid >= 0 ? uid : (long)getuid(), s.connects, s.connect_failures, s.bytes_sent,
           s.closed_by_server, s.answers, s.limit_answers, s.timeout_answers, s.max_open,
           s.first_answer[0] ? s.first_answer : "(none)");
    return 0;
}
