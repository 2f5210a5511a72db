/* The page's files (web/page/), compiled in by web/embed.py: the server
 * needs nothing installed beside it to serve them. */
#pragma once
#include "api.h"

extern const struct dw_web_file dw_web_page[];
