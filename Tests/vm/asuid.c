/* asuid: run a program as another user, for the VM scenarios (busybox has no setpriv/runuser
 * that works without a PAM stack). Drops the supplementary groups, then sets the gid and the
 * uid (real, effective and saved), then execs: the PID stays the same, so the caller's $! is
 * the program's PID.
 * Usage: asuid UID[:GID] PROGRAM [ARGS...]   (GID defaults to UID; PROGRAM is a path) */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned long id_arg(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || (*end && *end != ':') || v > 4294967294UL) {
        fprintf(stderr, "asuid: bad %s '%s'\n", what, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: asuid UID[:GID] PROGRAM [ARGS...]\n");
        return 2;
    }
    uid_t uid = (uid_t)id_arg(argv[1], "uid");
    const char *colon = strchr(argv[1], ':');
    gid_t gid = colon ? (gid_t)id_arg(colon + 1, "gid") : (gid_t)uid;
    if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) {
        fprintf(stderr, "asuid: cannot become %u:%u: %s\n", (unsigned)uid, (unsigned)gid, strerror(errno));
        return 126;
    }
    execv(argv[2], argv + 2);
    fprintf(stderr, "asuid: cannot run %s: %s\n", argv[2], strerror(errno));
    return 127;
}
