/* The fleet's JetStream subjects (docs/operations.md): a hub's streams are
 * published on dw.p.<K>.<kind>.<device>, K = the 32-bit FNV-1a hash of the
 * device id modulo the number of partitions. That is what nats-server's
 * subject mapping partition(N, ...) computes from the same token, so a
 * server mapping and the bridge put a device in the same partition; the
 * bridge computes it itself so that no server needs a mapping and sourced
 * messages, which keep their subject, land right. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define DW_NATS_PREFIX "dw.p"
#define DW_PARTITIONS_MAX 1024

/* FNV-1a, 32 bits (offset basis 2166136261, prime 16777619). */
uint32_t dw_fnv1a32(const void *p, size_t len);
/* The partition of a device among n (n >= 1): dw_fnv1a32(id) % n. */
unsigned dw_partition(const char *device, unsigned n);
/* "dw.p.<k>.<kind>.<device>" in buf: its length, or -ENAMETOOLONG. */
int dw_nats_subject(char *buf, size_t cap, unsigned k, const char *kind, const char *device);
