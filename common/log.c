#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "termsafe.h"

/* Process-wide by nature: one stderr, one program name. */
static const char *prog_name = "ductwatch";
static int cur_level = DW_LOG_INFO;
static int journal;

void dw_log_init(const char *prog)
{
    const char *slash = strrchr(prog, '/');
    prog_name = slash ? slash + 1 : prog;
    journal = getenv("JOURNAL_STREAM") != NULL;
}

void dw_log_set_level(int level)
{
    cur_level = level < DW_LOG_ERROR ? DW_LOG_ERROR : level > DW_LOG_DEBUG ? DW_LOG_DEBUG : level;
}

int dw_log_get_level(void) { return cur_level; }

void dw_log(int level, const char *fmt, ...)
{
    static const int syslog_prio[] = { 3, 4, 6, 7 };
    static const char *const names[] = { "error", "warning", "info", "debug" };
    char raw[1024], line[1024];
    va_list ap;
    int n;

    if (level > cur_level)
        return;
    va_start(ap, fmt);
    n = vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    /* Messages quote ids, topics and texts from outside: one line each,
     * no control characters reach the terminal or the journal. */
    dw_term_safe(raw, (size_t)n < sizeof(raw) ? (size_t)n : sizeof(raw) - 1, line, sizeof(line));
    if (journal)
        fprintf(stderr, "<%d>%s\n", syslog_prio[level], line);
    else
        fprintf(stderr, "%s: %s: %s\n", prog_name, names[level], line);
}
