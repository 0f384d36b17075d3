/* hll.h -- HyperLogLog sketch, byte-compatible with Redis's PFADD/PFCOUNT.
 *
 * P = 14 (16,384 six-bit registers), MurmurHash64A with seed 0xadc83b19,
 * Ertl's improved estimator (standard error 1.04 / sqrt(16384) = 0.81 %).
 * The sketch is kept in memory as one byte per register; the Redis wire
 * formats (sparse and dense, see hll.c) exist only on export and import.
 *
 * Element encoding used by logtally (documented for Redis users): an IPv4
 * client is added as its 4 bytes in network order, an IPv6 client as its
 * 16 bytes, a hostname client as its bytes.  PFADD of the dotted string
 * "192.0.2.1" therefore lands in different registers than our 4 bytes. */
#ifndef LT_HLL_H
#define LT_HLL_H

#include <stddef.h>
#include <stdint.h>

#define LT_HLL_P 14
#define LT_HLL_REGISTERS (1u << LT_HLL_P)                  /* 16,384 */
#define LT_HLL_HEADER_BYTES 16
#define LT_HLL_DENSE_BYTES (LT_HLL_HEADER_BYTES + LT_HLL_REGISTERS * 6 / 8) /* 12,304 */
#define LT_HLL_SPARSE_MAX_BYTES 3000  /* Redis's hll-sparse-max-bytes default */
#define LT_HLL_STD_ERROR 0.0081       /* 1.04 / sqrt(16384), rounded */

typedef struct lt_hll lt_hll;

/* Returns a new empty sketch, or NULL when out of memory. */
lt_hll *lt_hll_new(void);
/* Frees the sketch; lt_hll_free(NULL) is a no-op. */
void lt_hll_free(lt_hll *h);

/* MurmurHash64A of len bytes at data, seed 0xadc83b19, input read
 * little-endian whatever the host byte order. */
uint64_t lt_hll_hash(const void *data, size_t len);

/* Adds one element.  Returns 1 when a register changed, 0 otherwise. */
int lt_hll_add(lt_hll *h, const void *data, size_t len);
/* Same, for an element whose lt_hll_hash() the caller already has. */
int lt_hll_add_hash(lt_hll *h, uint64_t hash);

/* Returns register i (0..16383), which holds 0..51; 0 for i out of range. */
unsigned lt_hll_register(const lt_hll *h, unsigned i);

/* Returns the estimate, computed exactly as Redis's PFCOUNT computes it, so
 * that PFCOUNT of our exported blob equals this number.  Only an imported,
 * crafted sketch (nearly every register at 40 or more) can exceed 2^63; the
 * result is then 2^63, the bit pattern x86 Redis replies with. */
uint64_t lt_hll_count(const lt_hll *h);

/* dst = register-wise max(dst, src). */
void lt_hll_merge(lt_hll *dst, const lt_hll *src);

/* Copies the 16,384 registers out of h into regs. */
void lt_hll_get_registers(const lt_hll *h, uint8_t regs[LT_HLL_REGISTERS]);
/* Replaces h's registers with regs (a snapshot's).  Returns 0, or -EINVAL
 * when a value is above 51 (the hash cannot make one); h is then
 * unchanged. */
int lt_hll_set_registers(lt_hll *h, const uint8_t regs[LT_HLL_REGISTERS]);

/* Clears every register to zero. */
void lt_hll_reset(lt_hll *h);

/* Bytes of memory the sketch holds. */
size_t lt_hll_bytes(const lt_hll *h);

/* Writes the sketch in Redis's string format into out (which must hold
 * LT_HLL_DENSE_BYTES) and returns the number of bytes written.  The blob is
 * sparse when Redis would keep it sparse (every register <= 32 and the
 * encoding <= LT_HLL_SPARSE_MAX_BYTES), dense otherwise.  The cached
 * cardinality is marked stale so Redis recomputes it. */
size_t lt_hll_export(const lt_hll *h, unsigned char *out);

/* Replaces h's registers with those of the Redis blob (len bytes at blob).
 * The blob is untrusted: every length, opcode and value is checked, the
 * cached cardinality is ignored.  Returns 0, or -EINVAL with a message in
 * err (errlen bytes, may be 0) saying what is wrong and at which byte
 * offset ("hll import: byte 18: run goes past register 16383"); on error
 * h is unchanged.  The reserved header bytes are ignored, as Redis does. */
int lt_hll_import(lt_hll *h, const void *blob, size_t len, char *err, size_t errlen);

#endif
