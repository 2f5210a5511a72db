/* ductwatch-keygen: a CURVE key pair for one process or person. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "cli.h"
#include "security.h"

static const char *prog = "ductwatch-keygen";

static void usage(void)
{
    printf(
"Usage: %s NAME [--dir DIR] [--force]\n"
"Writes a new CurveZMQ key pair for ductwatch's tcp:// endpoints:\n"
"  DIR/NAME.key  the secret key (with its public key), mode 0600: stays with\n"
"                the process that uses it (--curve-key, --upstream-key)\n"
"  DIR/NAME.pub  the public key, mode 0644: give it to the servers that must\n"
"                let NAME in (--allow) or to the clients of NAME\n"
"\n"
"  -d, --dir DIR   where to write (default: the current directory)\n"
"  -f, --force     replace existing NAME.key / NAME.pub\n"
"  -h, --help      this text\n"
"  -V, --version   print the version\n"
"\n"
"Prints the public key on stdout. See docs/security.md.\n", prog);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "force", no_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { 0 },
    };
    const char *dir = ".", *name, *why = NULL;
    bool force = false;
    struct dw_curve_keys k;
    int ch, r;

    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":d:fhV", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': dir = optarg; break;
        case 'f': force = true; break;
        default: dw_cli_std_option(prog, ch, argv, NULL, usage);
        }
    }
    if (optind >= argc)
        dw_usage_error(prog, "missing NAME");
    if (optind + 1 < argc)
        dw_usage_error(prog, "unexpected argument '%s'", argv[optind + 1]);
    name = argv[optind];
    if (!*name || strchr(name, '/') || name[0] == '.')
        dw_usage_error(prog, "bad NAME '%s' (a file name without '/', not starting with '.')", name);
    if (!zmq_has("curve")) {
        fprintf(stderr, "%s: this libzmq has no CURVE support\n", prog);
        return DW_EXIT_FAILURE;
    }
    r = dw_security_write_keypair(dir, name, force, &k, &why);
    if (r < 0) {
        fprintf(stderr, "%s: %s/%s: %s%s%s\n", prog, dir, name, why,
                r == -EEXIST ? "" : ": ", r == -EEXIST ? "" : strerror(-r));
        return DW_EXIT_FAILURE;
    }
    printf("%s\n", k.public_key);
    fprintf(stderr, "%s: wrote %s/%s.key (secret, 0600) and %s/%s.pub\n", prog, dir, name, dir, name);
    return DW_EXIT_OK;
}
