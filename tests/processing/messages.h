/* Every alert message the detector can write: each rule at each level it
 * reaches (docs/detection.md), at every place of the reference layout,
 * with the 7-day note where it can carry one. */
#pragma once
#include <stddef.h>

/* Calls fn for each message; returns the longest into longest (cap bytes). */
typedef void (*message_fn)(const char *msg, size_t len, void *u);
size_t messages_each(message_fn fn, void *u, char *longest, size_t cap);
