/* ioread: read a block device with O_DIRECT, forever, for the io tier (scenario-io.sh).
 * Usage: ioread DEVICE [BLOCK_KB [REGION_MB [seq|rand [START_MB]]]]
 *   DEVICE    e.g. /dev/vda
 *   BLOCK_KB  size of each read (default 64)
 *   REGION_MB reads stay in [START_MB, START_MB + REGION_MB) (default 256)
 *   seq       each read follows the previous one, wrapping at the region's end (default);
 *   rand      each read at a random block-aligned offset in the region (seeded by the pid)
 * One read at a time (queue depth 1 per process), so a group's demand is its number of
 * readers. O_DIRECT: every read goes to the device (no page cache), so the cgroup's io.stat
 * counts them all. Copied under several names (ioread_l, ioread_h) so the policy can match
 * by comm. Runs until killed; exits 1 with a message on a failed open or read. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DEVICE [BLOCK_KB [REGION_MB [seq|rand [START_MB]]]]\n", argv[0]);
        return 2;
    }
    const char *dev = argv[1];
    long long block = (argc > 2 ? atoll(argv[2]) : 64) * 1024;
    long long region = (argc > 3 ? atoll(argv[3]) : 256) * 1024 * 1024;
    int random_mode = argc > 4 && strcmp(argv[4], "rand") == 0;
    long long start = (argc > 5 ? atoll(argv[5]) : 0) * 1024 * 1024;
    if (block <= 0 || block % 4096 != 0 || region < block) {
        fprintf(stderr, "ioread: block must be a positive multiple of 4 KB and at most the region\n");
        return 2;
    }
    int fd = open(dev, O_RDONLY | O_DIRECT);
    if (fd < 0) {
        fprintf(stderr, "ioread: open %s: %s\n", dev, strerror(errno));
        return 1;
    }
    void *buf;
    if (posix_memalign(&buf, 4096, (size_t)block) != 0) {
        fprintf(stderr, "ioread: out of memory\n");
        return 1;
    }
    long long blocks = region / block, next = 0;
    srandom((unsigned)getpid());
    for (;;) {
        long long index = random_mode ? random() % blocks : next;
        next = (index + 1) % blocks;
        ssize_t n = pread(fd, buf, (size_t)block, start + index * block);
        if (n < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "ioread: read %s at %lld: %s\n", dev, start + index * block, strerror(errno));
            return 1;
        }
    }
}
