/* How much acquire may replay (docs/messages.md, section 8).
 *
 * A replay goes to every subscriber whose subscription matches, not just to
 * the one that asked for it: libzmq's XPUB has no way to send to one peer
 * (ZMQ_XPUB_MANUAL_LAST_VALUE sends one message, and manual mode in libzmq
 * 4.3.4 applies a subscription read from a peer that has gone to a freed
 * pipe, zeromq/libzmq PR #4137). So a peer that subscribes over and over
 * would flood every other subscriber with duplicates until their queues
 * overflow and they lose live messages. The budget is a token bucket in
 * messages: full replays spend what they send, at most `cap` in a burst
 * and `cap` per `period` on average. When it is spent, a new subscription
 * gets the pinned HELLO alone (without it a subscriber can read nothing),
 * at most once per DW_REPLAY_HELLO_GAP_NS, the ones in between a moment
 * later. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#define DW_REPLAY_HELLO_GAP_NS 10000000ull /* 10 ms */

struct dw_replay_budget {
    uint64_t tokens, cap;
    uint64_t ns_per_token;
    uint64_t last_ns;        /* tokens counted up to here */
    uint64_t next_hello_ns;  /* the next HELLO-only replay from here on */
};

/* A full bucket of cap messages that refills in period_ns. */
void dw_replay_budget_init(struct dw_replay_budget *b, uint64_t cap, uint64_t period_ns,
                           uint64_t now_ns);
/* true, and spends n, when n messages are in the budget at now_ns. */
bool dw_replay_budget_take(struct dw_replay_budget *b, uint64_t n, uint64_t now_ns);
/* true when a HELLO-only replay may go at now_ns (and counts it). */
bool dw_replay_budget_hello(struct dw_replay_budget *b, uint64_t now_ns);
