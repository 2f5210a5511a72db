#include <stdio.h>
#include "replay.h"

/* Placeholder until the storage work lands the session reader. */
int sim_replay_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ductwatch-sim: replay: not available in this build yet\n");
    return 1;
}
