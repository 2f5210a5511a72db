/* Writing HTML safely: every string that comes from a file or a user goes
 * through these, so it can never become markup. */
#pragma once
#include <stddef.h>
#include <stdio.h>

/* Writes s as HTML text or attribute value: & < > " ' become entities,
 * control characters and bytes that are not valid UTF-8 become U+FFFD. */
void dw_html_text(FILE *f, const char *s);
/* The same for a fixed-width field that may lack its NUL. */
void dw_html_textn(FILE *f, const char *s, size_t width);
