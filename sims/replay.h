/* `ductwatch-sim replay FILE.h5 ...`: a recorded session back to the bytes
 * a garment sent. argv[0] is "replay". Returns the process exit status. */
#pragma once
int sim_replay_main(int argc, char **argv);
