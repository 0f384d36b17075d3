/* registry.h -- every file the daemon has seen, known by identity, never by path.
 *
 * A path or a glob is only a way to find files.  The registry remembers each
 * file found (device, inode, a fingerprint of its first bytes, how far it
 * was read) and decides, when a name leads to a file, where reading goes
 * on: at the file's own offset (renamed, re-spelled, linked, re-added), at 0
 * (a new file, or an inode reused by other bytes), at the offset of the file
 * it is a copy or a compressed copy of (copytruncate's access.log.1,
 * compress's access.log.2.gz), or not yet (a copy of a file still being
 * read).  Time is passed in, so every rule is a unit test. */
#ifndef LT_REGISTRY_H
#define LT_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of a file's start that identify it: enough to hold a log line's
 * client and timestamp, so two logs differ.  A file shorter than that is
 * fingerprinted by what it has, and again as it grows. */
#define LT_REG_FP_BYTES 256
/* A fingerprint shorter than this never matches another file's start: a
 * nearly empty file would look like every file. */
#define LT_REG_FP_MIN 32

typedef enum lt_reg_state {
    LT_REG_FOLLOWING = 0,  /* being read, or to be read on: its offset is where */
    LT_REG_DONE = 1,       /* finished (rotated away and quiet), or a .gz read whole */
    LT_REG_GHOST = 2,      /* an earlier content of a file, before a truncation or
                              an inode reuse: only its start and offset are kept,
                              for a copy or a .gz of it to continue from */
} lt_reg_state;

typedef struct lt_reg_entry {
    char *path;               /* the last name it was found under (owned) */
    uint64_t dev, ino;        /* 0, 0 for a ghost */
    uint64_t offset;          /* first byte not counted (decompressed, for a .gz) */
    uint64_t size;            /* size when last seen */
    uint64_t lines, malformed, truncations, rotations;
    uint32_t fp_len;          /* XXH64 of the first fp_len bytes (read-only: */
    uint64_t fp_hash;         /* lt_registry_set_fp() changes them) */
    int state;                /* lt_reg_state */
    int gz;                   /* a gzip file: fingerprinted and read decompressed */
    int active;               /* the caller is reading it now (set by the caller) */
    void *user;               /* the caller's, while active */
    int64_t seen;             /* when last found (seconds, the caller's clock) */
} lt_reg_entry;

typedef struct lt_registry lt_registry;

lt_registry *lt_registry_new(void);
void lt_registry_free(lt_registry *r);    /* NULL is a no-op */

/* Entries, for iteration; valid until the next call that adds or removes. */
size_t lt_registry_count(const lt_registry *r);
lt_reg_entry *lt_registry_at(lt_registry *r, size_t i);

/* The entry of the file with this device and inode (never a ghost), or NULL. */
lt_reg_entry *lt_registry_find(lt_registry *r, uint64_t dev, uint64_t ino);

/* Adds a copy of e (path duplicated); returns the new entry, or NULL when
 * out of memory.  Used to load a checkpoint. */
lt_reg_entry *lt_registry_add(lt_registry *r, const lt_reg_entry *e);

/* Changes an entry's fingerprint (the registry indexes it: never write
 * fp_len and fp_hash directly). */
void lt_registry_set_fp(lt_registry *r, lt_reg_entry *e, uint32_t fp_len, uint64_t fp_hash);

/* Removes an entry (pointer from this registry). */
void lt_registry_remove(lt_registry *r, lt_reg_entry *e);

/* What was found under a name: the file's identity, size and first bytes
 * (decompressed for a .gz), up to LT_REG_FP_BYTES. */
typedef struct lt_reg_probe {
    uint64_t dev, ino, size;
    int gz;
    const unsigned char *head;
    size_t head_len;
} lt_reg_probe;

typedef enum lt_reg_verdict {
    LT_REG_NEW,               /* a file never seen: read it from 0 */
    LT_REG_SAME,              /* a known file: read on from its offset */
    LT_REG_CONTINUES,         /* a copy of a known content: read on from its offset */
    LT_REG_WAIT,              /* a copy of a file being read now: ask again later */
    LT_REG_SKIP,              /* a .gz already read whole: nothing to do */
} lt_reg_verdict;

/* Decides where reading of the probed file, found at path at time now,
 * goes on, and returns the verdict (or -ENOMEM).  For NEW, SAME and
 * CONTINUES, *out is the file's entry (created when new), whose offset and
 * counters are where to start; its path and seen time are updated.  Rules,
 * in order:
 *   1. An entry with the same device and inode whose fingerprint the probe
 *      matches is the same file: SAME (SKIP for a .gz read whole).  A plain
 *      file now shorter than its offset was truncated: its old content
 *      becomes a ghost and it starts again at 0 (SAME, truncations + 1).
 *      One whose first bytes differ is another content under that inode (a
 *      reuse, or a copytruncate refilled past the offset): the old content
 *      becomes a ghost and rule 2 decides for the new one.  An entry with
 *      nothing read (offset 0) and fewer than LT_REG_FP_MIN bytes
 *      fingerprinted is known by its inode alone: when the probe's start
 *      is a content rule 2 knows, that content decides (a freed inode
 *      taken by a copy).
 *   2. Otherwise, among the entries whose fingerprint (at least
 *      LT_REG_FP_MIN bytes) the probe's start matches, the one read
 *      furthest: if it is active, WAIT (its lines are being counted through
 *      the file itself); if not, CONTINUES at its offset, with its line
 *      counts; a ghost so claimed is removed.
 *   3. Otherwise NEW, at 0. */
int lt_registry_resolve(lt_registry *r, const lt_reg_probe *p, const char *path, int64_t now,
                        lt_reg_entry **out);

/* Records that the content of e (a plain file) up to its offset was cut
 * off in place (a truncation seen while reading): a ghost keeps the old
 * fingerprint, offset and counts, for a copy or a .gz of it.  fp_len and
 * fp_hash are the old content's fingerprint.  Returns 0 or -ENOMEM. */
int lt_registry_ghost(lt_registry *r, const lt_reg_entry *e, uint32_t fp_len, uint64_t fp_hash,
                      uint64_t offset, uint64_t lines, uint64_t malformed);

/* Forgets what is no longer worth remembering: entries that are not
 * FOLLOWING and not active, last seen more than max_age seconds before now;
 * then, while more than max_entries remain, the least recently seen of
 * those.  Returns how many were forgotten. */
size_t lt_registry_expire(lt_registry *r, int64_t now, int64_t max_age, size_t max_entries);

/* XXH64 of the first n bytes of head: the fingerprint as entries keep it. */
uint64_t lt_registry_fp(const unsigned char *head, size_t n);

#endif
