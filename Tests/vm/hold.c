/* hold: a process that only waits, for the VM scenarios. Installed under several names
 * (hold_a, hold_b, ...) so /proc/PID/comm differs: that is what the policies match.
 * Usage: hold   (runs until killed; uses no CPU) */
#include <unistd.h>

int main(void)
{
    for (;;)
        pause();
}
