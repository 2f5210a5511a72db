/* What the bridge and the workers share of libnats (natsio/ only: the
 * programs see jspub.h and jssub.h, which keep libnats behind them). */
#pragma once
#include <nats/nats.h>
#include <stddef.h>
#include "jspub.h"

/* Options for c: its servers, name, credentials and TLS, reconnecting for
 * ever and logging when the connection is lost and back. NATS_OK, or a
 * status with a one-line reason in why (*out may need destroying). */
natsStatus dw_nats_options(natsOptions **out, const struct dw_jspub_config *c, char *why,
                           size_t cap);
/* Why a libnats call failed: the library's last error text (an SSL
 * handshake's reason, say), else the status's own. */
const char *dw_nats_why(natsStatus s);
