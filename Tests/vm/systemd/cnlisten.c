/*
 * cnlisten: can a process in this sandbox hear the kernel's proc connector?
 *
 * Usage: cnlisten [-t TIMEOUT_MS] [-b RCVBUF_BYTES] PROGRAM [ARG...]
 *   Subscribes to the proc connector the way a listener must (socket AF_NETLINK /
 *   NETLINK_CONNECTOR, bind to the CN_IDX_PROC group, SO_RCVBUFFORCE, send
 *   PROC_CN_MCAST_LISTEN), then forks and execs PROGRAM and waits for the kernel's EXEC
 *   event for that child.
 *   -t  how long to wait for the event (default 3000 ms)
 *   -b  receive buffer to force (default 4 MiB; 0 skips SO_RCVBUFFORCE)
 * Output: one line on stdout, "cnlisten: ok ..." or "cnlisten: FAIL <step>: <reason>".
 * Exit status:
 *   0  the EXEC event of the child arrived
 *   1  subscribed without an error, but no EXEC event for the child within the timeout
 *      (what a private network namespace or a non-initial PID/user namespace looks like)
 *   2  a step was refused (socket, bind, setsockopt, send, fork): the line names it and errno
 *   3  usage
 * Built static (mk/systemd-vm.mk) so it runs under any sandbox the guest sets up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int refused(const char *step) {
    printf("cnlisten: FAIL %s: %s (errno %d)\n", step, strerror(errno), errno);
    return 2;
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
    long timeout_ms = 3000, rcvbuf = 4 << 20;
    int opt;
    while ((opt = getopt(argc, argv, "+t:b:")) != -1) {
        if (opt == 't') timeout_ms = strtol(optarg, NULL, 10);
        else if (opt == 'b') rcvbuf = strtol(optarg, NULL, 10);
        else return 3;
    }
    if (optind >= argc || timeout_ms <= 0 || rcvbuf < 0) {
        fprintf(stderr, "usage: cnlisten [-t TIMEOUT_MS] [-b RCVBUF_BYTES] PROGRAM [ARG...]\n");
        return 3;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
    if (fd < 0) return refused("socket(AF_NETLINK, NETLINK_CONNECTOR)");
    struct sockaddr_nl local = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC, .nl_pid = 0};
    if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) return refused("bind(CN_IDX_PROC)");
    if (rcvbuf > 0) {
        int size = (int)rcvbuf;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
            return refused("setsockopt(SO_RCVBUFFORCE)");
    }

    /* nlmsghdr | cn_msg | enum proc_cn_mcast_op, packed as the kernel reads it. */
    struct {
        struct nlmsghdr nl;
        struct cn_msg cn;
        enum proc_cn_mcast_op op;
    } __attribute__((packed)) listen_msg;
    memset(&listen_msg, 0, sizeof listen_msg);
    listen_msg.nl.nlmsg_len = sizeof listen_msg;
    listen_msg.nl.nlmsg_type = NLMSG_DONE;
    listen_msg.nl.nlmsg_pid = getpid();
    listen_msg.cn.id.idx = CN_IDX_PROC;
    listen_msg.cn.id.val = CN_VAL_PROC;
    listen_msg.cn.len = sizeof listen_msg.op;
    listen_msg.op = PROC_CN_MCAST_LISTEN;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC, .nl_pid = 0};
    if (sendto(fd, &listen_msg, sizeof listen_msg, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
        return refused("send(PROC_CN_MCAST_LISTEN)");

    /* Subscribed before the fork: the child's exec can not slip by. */
    pid_t child = fork();
    if (child < 0) return refused("fork");
    if (child == 0) {
        execvp(argv[optind], argv + optind);
        _exit(127);
    }

    long long start = now_ms(), deadline = start + timeout_ms;
    unsigned long events = 0, overflows = 0;
    int ack_err = -1;
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return refused("poll");
        if (n == 0) break;
        char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
        ssize_t len = recv(fd, buf, sizeof buf, 0);
        if (len < 0) {
            if (errno == ENOBUFS) { overflows++; continue; }
            if (errno == EINTR) continue;
            return refused("recv");
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
            struct cn_msg *cn = NLMSG_DATA(h);
            if (h->nlmsg_len < NLMSG_LENGTH(sizeof *cn + sizeof(struct proc_event))) continue;
            if (cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC) continue;
            struct proc_event *ev = (struct proc_event *)cn->data;
            events++;
            if (ev->what == PROC_EVENT_NONE) ack_err = (int)ev->event_data.ack.err;
            if (ev->what == PROC_EVENT_EXEC && ev->event_data.exec.process_tgid == child) {
                printf("cnlisten: ok EXEC event for child %d after %lld ms (%lu events, %lu overflows)\n",
                       (int)child, now_ms() - start, events, overflows);
                waitpid(child, NULL, 0);
                return 0;
            }
        }
    }
    int status = 0;
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    char ack[32] = "no listen ack";
    if (ack_err >= 0) snprintf(ack, sizeof ack, "listen ack err %d", ack_err);
    printf("cnlisten: FAIL no EXEC event for child %d within %ld ms: subscribed without an error, "
           "but the kernel delivered %lu events (%lu overflows, %s)\n",
           (int)child, timeout_ms, events, overflows, ack);
    return 1;
}
