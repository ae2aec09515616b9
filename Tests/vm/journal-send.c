/* journal-send FIELD=VALUE...: write one structured journal entry (native
 * protocol, like the agent does). Used only by the stand-in scenario, to prove
 * that journald in the guest and the host-side journal checks work. */
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

int main(int argc, char **argv)
{
    struct iovec iov[64];
    int n = 0;

    for (int i = 1; i < argc && n < 64; i++, n++) {
        iov[n].iov_base = argv[i];
        iov[n].iov_len = strlen(argv[i]);
    }
    int r = sd_journal_sendv(iov, n);
    if (r < 0) {
        fprintf(stderr, "journal-send: %s\n", strerror(-r));
        return 1;
    }
    return 0;
}
