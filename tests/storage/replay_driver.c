/* Runs `ductwatch-sim replay` from sims/replay.c on its own, so the storage
 * tests do not depend on the simulator's build: same code, same options.
 * Usage: replay-driver replay FILE.h5 [options]. */
#include <stdio.h>
#include <string.h>
#include "replay.h"

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "replay")) {
        fprintf(stderr, "usage: %s replay FILE.h5 [options]\n", argv[0]);
        return 2;
    }
    return sim_replay_main(argc - 1, argv + 1);
}
