/* ZeroMQ message bodies (docs/messages.md is the specification), one
 * header per concept:
 *   msg_frame.h   frame.<dev>: binary frame bodies
 *   msg_event.h   event.<dev>: event JSON
 *   msg_stats.h   stats.<dev>: acquisition stats JSON
 *   msg_alert.h   alert.<dev>: alert JSON
 *   msg_json.h    reading JSON bodies with exact 64-bit integers
 *   topic.h       "<kind>.<device>" topics
 *   seqtrack.h    the subscriber's stream sequence tracking
 * and stream_sub.h, the subscriber built on them. Every message is two
 * parts, [topic, body]; every body carries its stream's id and 64-bit
 * sequence number. This header includes the ones for frames, events,
 * stats, topics and sequences, for code that uses them all. */
#pragma once
#include "msg_event.h"
#include "msg_frame.h"
#include "msg_json.h"
#include "msg_stats.h"
#include "seqtrack.h"
#include "topic.h"
