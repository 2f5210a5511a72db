#include "tool.h"
int dw_cmd_view(int argc, char **argv) { (void)argc; (void)argv; return 1; }
