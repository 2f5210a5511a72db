#include "replay_budget.h"

void dw_replay_budget_init(struct dw_replay_budget *b, uint64_t cap, uint64_t period_ns,
                           uint64_t now_ns)
{
    b->cap = b->tokens = cap ? cap : 1;
    b->ns_per_token = period_ns / b->cap ? period_ns / b->cap : 1;
    b->last_ns = now_ns;
    b->next_hello_ns = 0;
}

static void refill(struct dw_replay_budget *b, uint64_t now_ns)
{
    uint64_t add;
    if (now_ns <= b->last_ns)
        return;
    add = (now_ns - b->last_ns) / b->ns_per_token;
    if (add >= b->cap - b->tokens) {
        b->tokens = b->cap;
        b->last_ns = now_ns;
    } else {
        b->tokens += add;
        b->last_ns += add * b->ns_per_token;
    }
}

bool dw_replay_budget_take(struct dw_replay_budget *b, uint64_t n, uint64_t now_ns)
{
    refill(b, now_ns);
    /* A replay larger than the bucket (a backlog plus the pinned HELLO)
     * goes when the bucket is full. */
    if (n > b->tokens && b->tokens < b->cap)
        return false;
    b->tokens = n > b->tokens ? 0 : b->tokens - n;
    return true;
}

bool dw_replay_budget_hello(struct dw_replay_budget *b, uint64_t now_ns)
{
    if (now_ns < b->next_hello_ns)
        return false;
    b->next_hello_ns = now_ns + DW_REPLAY_HELLO_GAP_NS;
    return true;
}
