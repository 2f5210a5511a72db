/* Logging to stderr with levels, one line per message, journald-friendly
 * (a "<N>" priority prefix when stderr is the journal). Health values are
 * logged at debug level only. */
#pragma once

enum dw_log_level { DW_LOG_ERROR = 0, DW_LOG_WARN, DW_LOG_INFO, DW_LOG_DEBUG };

void dw_log_init(const char *prog);
void dw_log_set_level(int level);
int dw_log_get_level(void);
void dw_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define dw_err(...) dw_log(DW_LOG_ERROR, __VA_ARGS__)
#define dw_warn(...) dw_log(DW_LOG_WARN, __VA_ARGS__)
#define dw_info(...) dw_log(DW_LOG_INFO, __VA_ARGS__)
#define dw_debug(...) dw_log(DW_LOG_DEBUG, __VA_ARGS__)
