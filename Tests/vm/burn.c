/* A CPU burner for the VM tests. Installed under several names (burn_a,
 * burn_b, ...) so /proc/PID/comm differs: that is what the policy matches.
 * Usage: burn [SECONDS]   (no argument: run until killed) */
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    double limit = argc > 1 ? atof(argv[1]) : 0.0;
    struct timespec start, now;
    volatile unsigned long x = 0;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        for (unsigned i = 0; i < 1000000; i++)
            x += i;
        if (limit > 0.0) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            if ((now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 >= limit)
                return 0;
        }
    }
}
