/* discover.h -- finding the files the sources name, on the thread pool.
 *
 * A scan expands every pattern (a path or a glob), stats what it names,
 * refuses what is not a regular file (FIFOs, devices, sockets,
 * directories; the daemon's own state file and socket), reads the first
 * bytes of files it was not told to skip (decompressed for a .gz: the
 * fingerprint lib/registry.c matches), and looks for lost files (known to
 * the registry, named by no pattern) among the siblings of their last path.
 * It runs as one job that owns its struct scan: the loop thread fills the
 * input before queueing it and reads the output after it. */
#ifndef LT_DISCOVER_H
#define LT_DISCOVER_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

enum found_kind {
    FOUND_FILE,               /* a regular file */
    FOUND_MISSING,            /* a plain path that names nothing (yet) */
    FOUND_REFUSED,            /* not a regular file, or the daemon's own; see reason */
};

typedef struct found {
    char *path;
    size_t pattern;           /* index of the pattern that named it; lost files: SIZE_MAX */
    int kind;
    int glob;                 /* named by a glob, not by a plain path */
    int sibling;              /* a rotated sibling of a family (scan_family) */
    char reason[96];          /* FOUND_REFUSED */
    uint64_t dev, ino, size;
    int64_t mtime_ms;
    int gz;
    int probed;               /* head holds the first bytes */
    int probe_error;          /* a negative errno when they could not be read */
    unsigned char head[LT_REG_FP_BYTES];
    size_t head_len;
} found;

/* An identity the scan needs not read the start of: followed already, or
 * finished at this size. */
typedef struct scan_skip {
    uint64_t dev, ino, size;  /* size UINT64_MAX: whatever the size */
} scan_skip;

/* A file known to the registry that no pattern may name now: found again
 * by identity among the siblings of its last path. */
typedef struct scan_lost {
    uint64_t dev, ino;
    char *path;
} scan_lost;

/* A plain path whose file was rotated while not watched (the daemon was
 * down, or rotations came faster than scans): its rotated siblings changed
 * since since_ms that the registry does not know are read. */
typedef struct scan_family {
    char *path;
    int64_t since_ms;         /* wall clock, milliseconds */
} scan_family;

typedef struct scan {
    /* input, owned by the scan */
    char **patterns;
    size_t n_patterns;
    char *own[2];             /* the state file and the socket: never sources */
    scan_skip *skip;          /* sorted by dev, ino (scan_sort_skip) */
    size_t n_skip;
    scan_lost *lost;
    size_t n_lost;
    scan_family *families;
    size_t n_families;
    /* output */
    found *found;
    size_t n_found;
} scan;

/* Runs the scan (on any thread; touches only s and the file system). */
void scan_run(scan *s);
/* Sorts s->skip for scan_run's look-ups. */
void scan_sort_skip(scan *s);
/* Frees the input and the output; s itself is the caller's. */
void scan_clear(scan *s);

#endif
