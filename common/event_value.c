#include <errno.h>
#include <math.h>
#include <stdio.h>
#include "event_value.h"
#include "frame.h"

int dw_event_value_check(int kind, bool has_value, double value, char *why, size_t cap)
{
    if (kind != DW_EV_THERMOMETER || !has_value)
        return 0;
    if (isfinite(value) && value >= DW_THERMO_MIN_C && value <= DW_THERMO_MAX_C)
        return 0;
    snprintf(why, cap, "thermometer reading %g C outside %.0f..%.0f C", value, DW_THERMO_MIN_C,
             DW_THERMO_MAX_C);
    return -ERANGE;
}
