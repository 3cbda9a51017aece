/* siphash: SipHash-2-4, a keyed hash for hash tables whose keys come from
 * clients (addresses, user names): with a random key per process, chosen
 * keys cannot pile into one bucket. */
#ifndef SUREL_SIPHASH_H
#define SUREL_SIPHASH_H
#include <stddef.h>
#include <stdint.h>

/* The 64-bit SipHash-2-4 of data[0..len) under the key (k0, k1). */
uint64_t siphash24(uint64_t k0, uint64_t k1, const void *data, size_t len);

#endif
