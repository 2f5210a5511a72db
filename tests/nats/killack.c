/* A fault for the record-worker tests, preloaded into a real
 * ductwatch-record (LD_PRELOAD): the process kills itself with SIGKILL
 * when libnats is about to send the Nth buffer that holds JetStream acks
 * ("+ACK"; N from DW_KILLACK_AT, default 1), i.e. after the HDF5 flush that holds the
 * acked rows and before the server hears of it: the one moment at which
 * a killed worker leaves rows on disk that the server will deliver again.
 * strace cannot aim there (libnats sends its fetch requests, pings and
 * acks through the same send()); this looks at what is sent. */
#include <dlfcn.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

static atomic_long acks;

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    static ssize_t (*real_send)(int, const void *, size_t, int);
    const char *at = getenv("DW_KILLACK_AT");
    long n = at ? atol(at) : 1;

    if (!real_send)
        real_send = (ssize_t (*)(int, const void *, size_t, int))dlsym(RTLD_NEXT, "send");
    if (memmem(buf, len, "+ACK", 4) && atomic_fetch_add(&acks, 1) + 1 >= n)
        raise(SIGKILL);
    return real_send(fd, buf, len, flags);
}
