/* Which event values are plausible (docs/messages.md, section 4): a value
 * outside them is a typo or a broken sender, and detection must not take
 * it as a reading (a 2 147 483 C "thermometer reading" raised G3, high
 * fever). Checked where events enter: acquire's events endpoint (refused
 * with the reason), a garment EVENT (dropped and counted), ductwatch log
 * (bad usage). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* A thermometer reading is a core body temperature: 30..45 C covers deep
 * hypothermia to the highest fevers measured. */
#define DW_THERMO_MIN_C 30.0
#define DW_THERMO_MAX_C 45.0

/* 0, or -ERANGE with a one-line reason in why (e.g. "thermometer reading
 * 50 C outside 30..45 C"). kind: enum dw_event_kind. */
int dw_event_value_check(int kind, bool has_value, double value, char *why, size_t cap);
