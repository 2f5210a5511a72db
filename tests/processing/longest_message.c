/* detect-longest-message: prints the longest alert message the detector
 * can write and, on a second line, its message size (DW_ALERT_MESSAGE_MAX),
 * for the storage test that carries it through the session file whole. */
#include <stdio.h>
#include "detector.h"
#include "messages.h"

static void none(const char *msg, size_t len, void *u)
{
    (void)msg;
    (void)len;
    (void)u;
}

int main(void)
{
    char longest[2048];
    messages_each(none, NULL, longest, sizeof(longest));
    printf("%s\n%d\n", longest, DW_ALERT_MESSAGE_MAX);
    return 0;
}
