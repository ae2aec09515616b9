/* evprobe: measures, from outside the agent, how soon new processes land in their group
 * (issue 10). One static binary in two roles: the driver (evprobe MODE ...) forks children
 * that execve a copy of this binary whose comm matches a group (/bin/evp_match, override with
 * EVPROBE_TARGET); the exec'd copy (argv[1] = "child") watches its own /proc/self/cgroup.
 *
 * Usage (EXPECTED is a cgroup v2 path as /proc/self/cgroup shows it, e.g. /fairshare/evp;
 * LABEL names the result line):
 *   evprobe latency LABEL N PAR EXPECTED
 *       N execs, PAR at a time. Each child takes CLOCK_MONOTONIC just before execve; the
 *       exec'd probe reads /proc/self/cgroup until it is EXPECTED or 3 s passed: pauses of
 *       50 us for the first 20 ms, 1 ms up to 100 ms, then 100 ms (the resolution of a
 *       latency is the pause in force). Latency = first read that showed EXPECTED - t0;
 *       main_* figures count from the exec'd probe's first instruction instead (execve's own
 *       cost left out: the kernel's exec event goes out just before).
 *   evprobe short LABEL N PAR LIFE_MS EXPECTED
 *       N processes that live LIFE_MS each (exec, sleep, then read their cgroup just before
 *       exit), PAR at a time: "caught" = it was in EXPECTED before it exited.
 *   evprobe churn LABEL RATE SECONDS EXPECTED [MAX_ALIVE]
 *       RATE execs per second for SECONDS (never longer: a guest that can not spawn that fast
 *       starts fewer, n says how many), paced on absolute deadlines; each child as in
 *       latency mode but with pauses of 10 ms up to 200 ms, then 200 ms (hundreds polling
 *       every 50 us would starve a 2-vCPU guest, the agent included). At most MAX_ALIVE
 *       (default 1500) children at once: beyond that the driver waits, so the achieved rate
 *       (printed; under TCG the spawning itself may be slower) can fall below RATE.
 *   evprobe burst LABEL N EVERY EXPECTED WAIT_S
 *       N forks as fast as possible; every EVERY-th child execs the target and stays (pause),
 *       the others exit at once. Then polls the survivors every 100 ms until all are in
 *       EXPECTED or WAIT_S passed; kills them.
 *   evprobe idle LABEL N PIDFILE NAME...
 *       N sleepers (clone(CLONE_VM), prctl(PR_SET_NAME), pause): even ones named NAME[(i/2) % count],
 *       odd ones "evp_idle". Their pids go to PIDFILE. The driver prints its line, then
 *       stays their parent until SIGTERM: then it kills and reaps them all (no zombies are
 *       left in /proc for the agent to scan), and exits.
 *   evprobe child wait|coarse|short|hold EXPECTED T0_NS [LIFE_MS]
 *       (internal: the exec'd probe; its result line goes to fd 3)
 *
 * Output: one line "FSRESULT evp LABEL MODE key=value ..." (the guest protocol of
 * Tests/vm/guest-lib.sh): n (children started), samples (results received), caught, missed,
 * p50_us p99_us max_us (latency of the caught ones), elapsed_s, plus rate/alive/fork figures
 * by mode. A child that could not report counts as lost (n - samples), never as caught.
 * Exit status: 0 when the run completed (whatever was caught), 2 on usage, 1 on a failure
 * of the probe itself (fork, exec, results file). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RESULT_FD 3
#define TIMEOUT_NS 3000000000LL

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ns(long long ns)
{
    struct timespec ts = {ns / 1000000000LL, ns % 1000000000LL};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void die(const char *what)
{
    fprintf(stderr, "evprobe: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* in_group EXPECTED: 1 when the "0::PATH" line of /proc/self/cgroup is EXPECTED. */
static int in_group(const char *expected)
{
    char buf[4096];
    int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *line = strstr(buf, "0::");
    if (!line)
        return 0;
    line += 3;
    size_t len = strcspn(line, "\n");
    return len == strlen(expected) && memcmp(line, expected, len) == 0;
}

static void report(const char *line)
{
    /* One write of a short line to an O_APPEND file: lines never interleave. */
    if (write(RESULT_FD, line, strlen(line)) < 0)
        _exit(1);
}

/* The exec'd probe. MODE "wait" ("coarse"): poll until in the group or the timeout; "short": sleep
 * LIFE_MS, then check once; "hold": stay until killed. */
static int child(int argc, char **argv)
{
    if (argc < 5)
        return 2;
    /* t_main: the exec is done and this program runs (the kernel sends its exec event just
     * before); reported beside the latency from t0, which includes execve itself. */
    long long t_main = now_ns();
    const char *mode = argv[2], *expected = argv[3];
    long long t0 = atoll(argv[4]);
    char line[64];
    if (strcmp(mode, "hold") == 0) {
        for (;;)
            pause();
    }
    if (strcmp(mode, "short") == 0) {
        long life_ms = argc > 5 ? atol(argv[5]) : 10;
        long long left = t0 + life_ms * 1000000LL - now_ns();
        if (left > 0)
            sleep_ns(left);
        /* The last thing before exit: where am I? */
        /* Both carry the lifetime (exec included: under TCG it exceeds LIFE_MS). */
        snprintf(line, sizeof line, "%s %lld\n", in_group(expected) ? "caught" : "missed", now_ns() - t0);
        report(line);
        return 0;
    }
    int coarse = strcmp(mode, "coarse") == 0;
    for (;;) {
        long long t = now_ns();
        long long waited = t - t0;
        if (in_group(expected)) {
            /* Seen only after the timeout (a long pause ended past it): missed all the same. */
            if (waited > TIMEOUT_NS)
                snprintf(line, sizeof line, "missed\n");
            else
                snprintf(line, sizeof line, "caught %lld %lld\n", waited, t - t_main);
            break;
        }
        if (waited >= TIMEOUT_NS) {
            snprintf(line, sizeof line, "missed\n");
            break;
        }
        if (coarse) /* churn: hundreds alive at once must not eat the guest's CPU */
            sleep_ns(waited < 200000000LL ? 10000000 : 200000000);
        else
            sleep_ns(waited < 20000000LL ? 50000 : waited < 100000000LL ? 1000000 : 100000000);
    }
    report(line);
    return 0;
}

__attribute__((noinline)) static const char *target(void)
{
    const char *t = getenv("EVPROBE_TARGET");
    return t && *t ? t : "/bin/evp_match";
}

static char results_path[64];

/* open_results: a fresh O_APPEND file the children write to (inherited as fd 3). */
static void open_results(void)
{
    snprintf(results_path, sizeof results_path, "/tmp/evprobe.%d", (int)getpid());
    int fd = open(results_path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600);
    if (fd < 0)
        die(results_path);
    if (fd != RESULT_FD) {
        if (dup2(fd, RESULT_FD) < 0)
            die("dup2");
        close(fd);
    }
}

/* spawn MODE EXPECTED [LIFE_MS]: fork a child that execs the target; t0 is taken in the
 * child right before execve. Returns the pid. */
static pid_t spawn(const char *mode, const char *expected, const char *life)
{
    /* vfork: under qemu TCG a fork that copies the page tables costs about 5 ms (a few hundred
     * per second), far too slow for the churn and burst rates; the child only formats its
     * start time on its own frame and execs. */
    const char *path = target();
    char t0[32];
    char *args[] = {(char *)path, "child", (char *)mode, (char *)expected, t0, (char *)life, NULL};
    pid_t pid = vfork();
    if (pid == 0) {
        long long t = now_ns();
        /* Decimal by hand: nothing in the child that may touch shared state. */
        char tmp[32];
        int k = 0;
        do {
            tmp[k++] = (char)('0' + t % 10);
            t /= 10;
        } while (t > 0);
        for (int i = 0; i < k; i++)
            t0[i] = tmp[k - 1 - i];
        t0[k] = 0;
        execv(path, args);
        _exit(127);
    }
    return pid;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static long long pct(const long long *v, long n, int p)
{
    if (n == 0)
        return -1;
    long k = (p * n + 99) / 100;
    return v[(k < 1 ? 1 : k) - 1];
}

/* print_results: read the results file, print the summary line. */
static void print_results(const char *label, const char *mode, long started, long long t_start,
                          const char *extra)
{
    double elapsed = (now_ns() - t_start) / 1e9;
    FILE *f = fopen(results_path, "r");
    if (!f)
        die(results_path);
    long cap = started > 0 ? started : 1, n = 0, caught = 0, missed = 0, bad = 0;
    long long *lat = malloc(sizeof *lat * cap), *life = malloc(sizeof *life * cap), *run = malloc(sizeof *run * cap);
    long nl = 0, nr = 0;
    if (!lat || !life || !run)
        die("malloc");
    char line[128];
    while (fgets(line, sizeof line, f)) {
        long long v, w;
        if (sscanf(line, "caught %lld", &v) == 1 && n < cap) {
            lat[n++] = v;
            if (sscanf(line, "caught %lld %lld", &v, &w) == 2 && nr < cap)
                run[nr++] = w;
            caught++;
            if (nl < cap)
                life[nl++] = v;
        } else if (strncmp(line, "missed", 6) == 0) {
            missed++;
            if (sscanf(line, "missed %lld", &v) == 1 && nl < cap)
                life[nl++] = v;
        } else
            bad++;
    }
    fclose(f);
    unlink(results_path);
    qsort(lat, n, sizeof *lat, cmp_ll);
    qsort(life, nl, sizeof *life, cmp_ll);
    qsort(run, nr, sizeof *run, cmp_ll);
    char runs[96] = "";
    if (nr) /* from the probe's own start: execve's cost under TCG left out */
        snprintf(runs, sizeof runs, " main_p50_us=%lld main_p99_us=%lld main_max_us=%lld", pct(run, nr, 50) / 1000,
                 pct(run, nr, 99) / 1000, run[nr - 1] / 1000);
    char lives[96] = "";
    if (nl && strcmp(mode, "short") == 0) /* how long the processes really lived */
        snprintf(lives, sizeof lives, " life_p50_us=%lld life_max_us=%lld", pct(life, nl, 50) / 1000, life[nl - 1] / 1000);
    printf("FSRESULT evp %s %s n=%ld samples=%ld caught=%ld missed=%ld lost=%ld bad=%ld "
           "p50_us=%lld p99_us=%lld max_us=%lld%s%s elapsed_s=%.2f%s%s\n",
           label, mode, started, caught + missed, caught, missed, started - caught - missed, bad,
           n ? pct(lat, n, 50) / 1000 : -1, n ? pct(lat, n, 99) / 1000 : -1, n ? lat[n - 1] / 1000 : -1,
           runs, lives, elapsed, extra && *extra ? " " : "", extra ? extra : "");
    fflush(stdout);
    free(lat);
    free(life);
    free(run);
}

/* run_parallel: N children of MODE, PAR at a time. */
static int run_parallel(const char *label, const char *mode, long n, long par, const char *expected,
                        const char *life)
{
    open_results();
    long long t_start = now_ns();
    long started = 0, alive = 0, failed = 0;
    while (started < n || alive > 0) {
        while (started < n && alive < par) {
            if (spawn(mode, expected, life) < 0)
                die("fork");
            started++;
            alive++;
        }
        int st;
        pid_t p = wait(&st);
        if (p < 0)
            die("wait");
        alive--;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            failed++;
    }
    char extra[64];
    snprintf(extra, sizeof extra, "child_failures=%ld", failed);
    print_results(label, strcmp(mode, "short") == 0 ? "short" : "latency", started, t_start, extra);
    return 0;
}

static int run_churn(const char *label, long rate, long seconds, const char *expected, long max_alive)
{
    open_results();
    long total = rate * seconds, started = 0, alive = 0, failed = 0, throttled = 0, peak = 0;
    long long t_start = now_ns(), period = 1000000000LL / rate;
    long long t_stop = t_start + seconds * 1000000000LL;
    for (long i = 0; i < total; i++) {
        long long due = t_start + i * period;
        /* The window is SECONDS long whatever the guest manages: behind schedule, stop at its end. */
        if (now_ns() >= t_stop)
            break;
        struct timespec ts = {due / 1000000000LL, due % 1000000000LL};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        int st;
        pid_t p;
        while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
            alive--;
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                failed++;
        }
        if (alive >= max_alive) {
            throttled++;
            if (wait(&st) > 0) {
                alive--;
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                    failed++;
            }
        }
        if (spawn("coarse", expected, NULL) < 0)
            die("fork");
        started++;
        alive++;
        if (alive > peak)
            peak = alive;
    }
    double spawn_s = (now_ns() - t_start) / 1e9;
    int st;
    while (wait(&st) > 0)
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            failed++;
    char extra[160];
    snprintf(extra, sizeof extra, "asked=%ld rate_asked=%ld rate_achieved=%.1f spawn_s=%.2f peak_alive=%ld throttled=%ld child_failures=%ld",
             total, rate, started / spawn_s, spawn_s, peak, throttled, failed);
    print_results(label, "churn", started, t_start, extra);
    return 0;
}

static int run_burst(const char *label, long n, long every, const char *expected, long wait_s)
{
    pid_t *surv = malloc(sizeof *surv * (n / every + 1));
    if (!surv)
        die("malloc");
    /* The exec'd survivors report nothing; fd 3 is not needed. */
    long ns = 0, forks = 0, fork_errors = 0;
    long long t_start = now_ns();
    for (long i = 0; i < n; i++) {
        pid_t p = i % every == 0 ? spawn("hold", expected, NULL) : vfork();
        if (p == 0)
            _exit(0);
        if (p < 0) {
            fork_errors++;
            /* Out of processes for a moment: reap and go on. */
            while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
            continue;
        }
        forks++;
        if (i % every == 0)
            surv[ns++] = p;
        if ((i & 63) == 0)
            while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
    }
    double fork_s = (now_ns() - t_start) / 1e9;
    long long t_end = now_ns(), all_at = -1;
    long caught = 0;
    char path[64], buf[4096];
    for (;;) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        caught = 0;
        for (long k = 0; k < ns; k++) {
            snprintf(path, sizeof path, "/proc/%d/cgroup", (int)surv[k]);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            ssize_t r = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
            if (fd >= 0)
                close(fd);
            if (r <= 0)
                continue;
            buf[r] = 0;
            char *l = strstr(buf, "0::");
            if (l && strncmp(l + 3, expected, strlen(expected)) == 0 && (l[3 + strlen(expected)] == '\n' || !l[3 + strlen(expected)]))
                caught++;
        }
        if (caught == ns) {
            all_at = now_ns();
            break;
        }
        if (now_ns() - t_end > wait_s * 1000000000LL)
            break;
        sleep_ns(100000000LL);
    }
    for (long k = 0; k < ns; k++)
        kill(surv[k], SIGKILL);
    while (wait(NULL) > 0)
        ;
    printf("FSRESULT evp %s burst n=%ld forks=%ld fork_errors=%ld fork_s=%.2f forks_per_s=%.0f survivors=%ld "
           "caught=%ld missed=%ld all_caught_after_s=%s%.2f\n",
           label, n, forks, fork_errors, fork_s, forks / fork_s, ns, caught, ns - caught,
           all_at < 0 ? "never:" : "", (all_at < 0 ? now_ns() - t_end : all_at - t_end) / 1e9);
    fflush(stdout);
    free(surv);
    return 0;
}

#define SLEEPER_STACK 16384

static int sleeper(void *comm)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_NAME, (const char *)comm, 0, 0, 0);
    for (;;)
        pause();
    return 0;
}

static int run_idle(const char *label, long n, const char *pidfile, int names, char **name)
{
    char *stacks = malloc((size_t)(n + 1) * SLEEPER_STACK);
    if (!stacks)
        die("malloc");
    /* SIGTERM is taken with sigwait once all are started; the children unblock it. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigprocmask(SIG_BLOCK, &stop, NULL);
    FILE *f = fopen(pidfile, "w");
    if (!f)
        die(pidfile);
    long long t_start = now_ns();
    long started = 0;
    for (long i = 0; i < n; i++) {
        const char *comm = i % 2 == 0 ? name[(i / 2) % names] : "evp_idle";
        /* clone(CLONE_VM) with a small stack of its own: a process (its own pid, comm and
         * /proc entry) without a copy of the page tables, so 10,000 of them fit a 1 GiB guest
         * and start quickly under TCG. */
        char *stack = stacks + (i + 1) * SLEEPER_STACK;
        pid_t p = clone(sleeper, stack, CLONE_VM | SIGCHLD, (void *)comm);
        if (p < 0)
            die("clone");
        fprintf(f, "%d\n", (int)p);
        started++;
    }
    fclose(f);
    printf("FSRESULT evp %s idle n=%ld spawn_s=%.2f\n", label, started, (now_ns() - t_start) / 1e9);
    fflush(stdout);
    int sig;
    sigwait(&stop, &sig);
    signal(SIGTERM, SIG_IGN);
    f = fopen(pidfile, "r");
    int pid;
    while (f && fscanf(f, "%d", &pid) == 1)
        kill(pid, SIGKILL);
    if (f)
        fclose(f);
    while (wait(NULL) > 0)
        ;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: evprobe latency LABEL N PAR EXPECTED | short LABEL N PAR LIFE_MS EXPECTED |\n"
                    "       churn LABEL RATE SECONDS EXPECTED [MAX_ALIVE] | burst LABEL N EVERY EXPECTED WAIT_S |\n"
                    "       idle LABEL N PIDFILE NAME...\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "child") == 0)
        return child(argc, argv);
    if (argc < 3)
        return usage();
    const char *mode = argv[1], *label = argv[2];
    /* Output goes to a console or pipe: keep lines whole and in order with the guest's. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(mode, "latency") == 0 && argc == 6 && atol(argv[3]) > 0 && atol(argv[4]) > 0)
        return run_parallel(label, "wait", atol(argv[3]), atol(argv[4]), argv[5], NULL);
    if (strcmp(mode, "short") == 0 && argc == 7 && atol(argv[3]) > 0 && atol(argv[4]) > 0)
        return run_parallel(label, "short", atol(argv[3]), atol(argv[4]), argv[6], argv[5]);
    if (strcmp(mode, "churn") == 0 && (argc == 6 || argc == 7) && atol(argv[3]) > 0 && atol(argv[4]) > 0)
        return run_churn(label, atol(argv[3]), atol(argv[4]), argv[5], argc == 7 ? atol(argv[6]) : 1500);
    if (strcmp(mode, "burst") == 0 && argc == 7 && atol(argv[3]) > 0 && atol(argv[4]) > 0)
        return run_burst(label, atol(argv[3]), atol(argv[4]), argv[5], atol(argv[6]));
    if (strcmp(mode, "idle") == 0 && argc >= 6 && atol(argv[3]) >= 0)
        return run_idle(label, atol(argv[3]), argv[4], argc - 5, argv + 5);
    return usage();
}
