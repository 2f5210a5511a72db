#include "device_id.h"
#include "frame.h"

bool dw_device_id_valid(const char *s, size_t len)
{
    if (!s || len == 0 || len > DW_ID_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e || c == '/')
            return false;
    }
    return true;
}
