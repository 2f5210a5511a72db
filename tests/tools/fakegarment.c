/* A minimal garment on a pseudo-terminal for the tools tests: prints
 * "pty: /dev/pts/N" (flushed) like ductwatch-sim --out pty, then sends HELLO
 * and SAMPLEs with fixed, known values (zone z: 33.00 + 0.25*z C and
 * 1.000 + 0.100*z kPa; ambient 24.50 and 24.75 C) at --rate Hz, paced at
 * --speed x real time or --fast, for --duration of device time (default:
 * until SIGTERM). Answers anything it reads (HELLO_REQUEST) with HELLO.
 * Accepts and ignores ductwatch-sim's other options, so it can stand in
 * for the simulator (DUCTWATCH_SIM=...). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include "duration.h"
#include "dwtime.h"
#include "frame.h"
#include "layout.h"

static volatile sig_atomic_t stop;
static void on_stop(int sig) { (void)sig; stop = 1; }

static uint32_t dseq;

static void send_frame(int fd, uint8_t type, uint64_t t_us, const uint8_t *p, size_t len)
{
    uint8_t wire[DW_MAX_WIRE];
    ssize_t n = dw_frame_encode(type, dseq++, t_us, p, len, wire, sizeof(wire));
    if (n > 0 && write(fd, wire, (size_t)n) < 0 && errno != EAGAIN)
        stop = 1;
}

static void send_hello(int fd, const struct dw_hello *h, uint64_t t_us)
{
    uint8_t p[DW_MAX_PAYLOAD];
    ssize_t n = dw_hello_pack(h, p, sizeof(p));
    if (n > 0)
        send_frame(fd, DW_FRAME_HELLO, t_us, p, (size_t)n);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "duration", required_argument, NULL, 'd' },
        { "rate", required_argument, NULL, 'r' },
        { "speed", required_argument, NULL, 's' },
        { "fast", no_argument, NULL, 'f' },
        { "scenario", required_argument, NULL, 'x' },
        { "seed", required_argument, NULL, 'x' },
        { "out", required_argument, NULL, 'x' },
        { "labels", required_argument, NULL, 'x' },
        { "device", required_argument, NULL, 'D' },
        { 0 },
    };
    uint64_t duration_us = 0, u, period_us, t_us = 0, t0;
    double rate = 10, speed = 1;
    bool fast = false;
    const char *device = "testbra-01";
    struct dw_hello h;
    struct dw_sample s;
    struct termios tio;
    int ch, master, slave;
    char *name;

    while ((ch = getopt_long(argc, argv, "vq", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': if (dw_duration_parse_us(optarg, &duration_us) < 0) return 2; break;
        case 'r': if (dw_parse_u64(optarg, 1, 1000, &u) < 0) return 2; rate = (double)u; break;
        case 's': if (dw_parse_double(optarg, 0.001, 1e9, &speed) < 0) return 2; break;
        case 'f': fast = true; break;
        case 'D': device = optarg; break;
        default: break;
        }
    }
    /* No SA_RESTART: a write blocked on a full pty nobody reads must end. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 || !(name = ptsname(master)))
        return 1;
    /* Keep the slave open in raw mode: acquire may come and go. */
    slave = open(name, O_RDWR | O_NOCTTY);
    if (slave < 0 || tcgetattr(slave, &tio) < 0)
        return 1;
    cfmakeraw(&tio);
    tcsetattr(slave, TCSANOW, &tio);
    printf("pty: %s\n", name);
    fflush(stdout);

    dw_layout_default(&h, device, "fake-1.0", (unsigned)rate);
    memset(&s, 0, sizeof(s));
    s.n_zones = h.n_zones;
    for (unsigned z = 0; z < h.n_zones; z++) {
        s.temp[z] = (int16_t)(3300 + 25 * z);
        s.pressure[z] = (uint16_t)(1000 + 100 * z);
    }
    s.ambient[0] = 2450;
    s.ambient[1] = 2475;
    s.accel[2] = 1000;

    period_us = (uint64_t)(1e6 / rate);
    t0 = dw_now_monotonic_ns();
    {
        uint8_t zero = 0;
        if (write(master, &zero, 1) < 0)
            return 1;
    }
    send_hello(master, &h, t_us);
    while (!stop && (!duration_us || t_us < duration_us)) {
        uint8_t in[256], p[DW_MAX_PAYLOAD];
        ssize_t n;
        fcntl(master, F_SETFL, O_NONBLOCK);
        while ((n = read(master, in, sizeof(in))) > 0)
            send_hello(master, &h, t_us);
        fcntl(master, F_SETFL, 0);
        t_us += period_us;
        n = dw_sample_pack(&s, p, sizeof(p));
        if (n > 0)
            send_frame(master, DW_FRAME_SAMPLE, t_us, p, (size_t)n);
        if (!fast)
            dw_sleep_until_monotonic(t0 + (uint64_t)((double)t_us * 1000.0 / speed), &stop);
    }
    if (!stop) {
        tcdrain(master);
        /* Let the reader take the rest before the pty goes away. */
        usleep(200000);
    }
    close(slave);
    close(master);
    return 0;
}
