/* argbomb: start processes of an unprivileged user whose command lines are built to be
 * expensive to match (issue 8: one 20 KB argument against `^python3? \S*train\S*\.py`
 * stalled the agent's pass for 20 s).
 *
 * Usage: argbomb -u UID -g GID -n COUNT -0 ARGV0 -p UNIT [-b BYTES] [-k ARGS]
 *   -u UID -g GID  each process drops to this user and group (no supplementary groups)
 *   -n COUNT       how many processes
 *   -0 ARGV0       their argv[0], e.g. python3 (the command line is argv joined by spaces)
 *   -p UNIT        each argument is UNIT repeated, cut to BYTES, e.g. "train"
 *   -b BYTES       length of each argument (default 131071: the kernel's MAX_ARG_STRLEN,
 *                  128 KiB with its NUL)
 *   -k ARGS        arguments per process (default 1)
 * Prints each process's pid, one per line, and exits; the processes wait (no CPU) until
 * killed. They are this same binary, so /proc/PID/comm is "argbomb" and
 * /proc/PID/cmdline is "ARGV0 UNITUNIT...". Exit status 0, 1 on a usage or setup error. */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

int main(int argc, char **argv, char **envp)
{
    (void)envp;
    if (getenv("ARGBOMB_HOLD")) /* the exec'd process: just wait */
        for (;;)
            pause();

    long uid = -1, gid = -1, count = 0, bytes = 131071, args = 1;
    const char *argv0 = NULL, *unit = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "u:g:n:0:p:b:k:")) != -1) {
        switch (opt) {
        case 'u': uid = atol(optarg); break;
        case 'g': gid = atol(optarg); break;
        case 'n': count = atol(optarg); break;
        case '0': argv0 = optarg; break;
        case 'p': unit = optarg; break;
        case 'b': bytes = atol(optarg); break;
        case 'k': args = atol(optarg); break;
        default: goto usage;
        }
    }
    if (uid < 0 || gid < 0 || count <= 0 || !argv0 || !unit || !*unit || bytes <= 0 || bytes > 131071 || args <= 0 || args > 16)
        goto usage;

    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len < 0) {
        perror("argbomb: /proc/self/exe");
        return 1;
    }
    self[len] = 0;
    char *arg = malloc((size_t)bytes + 1);
    size_t ulen = strlen(unit);
    for (long i = 0; i < bytes; i++)
        arg[i] = unit[(size_t)i % ulen];
    arg[bytes] = 0;
    char *child_argv[18] = { (char *)argv0 };
    for (long i = 1; i <= args; i++)
        child_argv[i] = arg;
    child_argv[args + 1] = NULL;
    char *child_env[] = { "ARGBOMB_HOLD=1", NULL };

    for (long i = 0; i < count; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            perror("argbomb: fork");
            return 1;
        }
        if (pid == 0) {
            if (setgroups(0, NULL) != 0 || setgid((gid_t)gid) != 0 || setuid((uid_t)uid) != 0) {
                fprintf(stderr, "argbomb: cannot become uid %ld gid %ld: %s\n", uid, gid, strerror(errno));
                _exit(1);
            }
            execve(self, child_argv, child_env);
            fprintf(stderr, "argbomb: exec %s: %s\n", self, strerror(errno));
            _exit(1);
        }
        printf("%d\n", (int)pid);
    }
    return 0;
usage:
    fprintf(stderr, "usage: argbomb -u UID -g GID -n COUNT -0 ARGV0 -p UNIT [-b BYTES<=131071] [-k ARGS<=16]\n");
    return 1;
}
