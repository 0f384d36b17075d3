/* discover.c -- finding the files the sources name, on the thread pool.
 *
 * One scan (discover.h) runs at a time, every RESCAN_MS and soon after a
 * directory of a pattern changes (sources.c).  Its cost is a stat per name
 * and a read of the first bytes of each file not yet known, so thousands
 * of idle files cost a few milliseconds of a pool thread a second and
 * nothing on the loop.
 *
 * Nothing here opens a file in a way that can block: a name is stat()ed
 * first, and only a regular file is opened, with O_NONBLOCK (a FIFO
 * swapped in between the two is refused by the fstat that follows).
 *
 * Lost files
 * ----------
 * A file the registry knows that no pattern names any more (renamed or
 * compressed while the daemon was down, or renamed between being found and
 * being opened) is looked for by its inode in the directory of its last
 * path, that directory's subdirectories and its parent's (logrotate's
 * `olddir`), and gzip files there whose names start like its own are
 * probed, so `compress` and `delaycompress` archives of it are matched by
 * their decompressed start.  Directories are listed once per scan, and at
 * most MAX_LISTED names and MAX_SIBLING_PROBES archives are looked at.
 *
 * Only names that start like its own (the stem: "access" of
 * "access.log.3") are looked at, as every rotation scheme names them: a
 * deleted file's inode is soon taken by another, and a file that was
 * empty has no first bytes to tell them apart.  (logrotate's state file,
 * written beside the logs' directory, took such an inode in a test run
 * and had its two lines counted as malformed.)
 *
 * Rotations not seen
 * ------------------
 * Two rotations while the daemon was down (or between two scans) leave a
 * file it never saw: access.log.1 between the access.log.2 it knows and
 * the new access.log.  For a plain path whose file changed unseen, the
 * scan also reads the start of its rotated siblings changed since then
 * (scan_family) that the registry does not know, so they are counted:
 * names that start with the path's own name, in its directory or a
 * subdirectory of it (logrotate's olddir, when it is there).
 */
#include "discover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gz.h"

#define MAX_LISTED 200000
#define MAX_SIBLING_PROBES 256
#define MAX_DIRS 256

static int cmp_skip(const void *a, const void *b)
{
    const scan_skip *x = a, *y = b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    return x->ino < y->ino ? -1 : x->ino > y->ino;
}

void scan_sort_skip(scan *s)
{
    if (s->n_skip > 1)
        qsort(s->skip, s->n_skip, sizeof(*s->skip), cmp_skip);
}

static int skipped(const scan *s, uint64_t dev, uint64_t ino, uint64_t size)
{
    scan_skip key = {dev, ino, 0};
    const scan_skip *k = s->n_skip ? bsearch(&key, s->skip, s->n_skip, sizeof(key), cmp_skip) : NULL;
    return k != NULL && (k->size == UINT64_MAX || k->size == size);
}

static const char *kind_of(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory, not a file";
    if (S_ISFIFO(m))
        return "a FIFO, not a regular file";
    if (S_ISSOCK(m))
        return "a socket, not a regular file";
    if (S_ISCHR(m) || S_ISBLK(m))
        return "a device, not a regular file";
    return "not a regular file";
}

static found *add_found(scan *s, const char *path, size_t pattern, size_t *cap)
{
    if (s->n_found == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        found *f = realloc(s->found, nc * sizeof(*f));
        if (f == NULL)
            return NULL;
        s->found = f;
        *cap = nc;
    }
    found *f = &s->found[s->n_found];
    memset(f, 0, sizeof(*f));
    if ((f->path = strdup(path)) == NULL)
        return NULL;
    f->pattern = pattern;
    s->n_found++;
    return f;
}

/* Stats one name; fills f (kind, identity) and returns 0, or -1 when the
 * name is to be left out (a glob's match that went away). */
static int look(const scan *s, const struct stat own[2], found *f, int plain)
{
    struct stat st;
    if (stat(f->path, &st) < 0) {
        if (errno == ENOENT && plain) {
            f->kind = FOUND_MISSING;
            return 0;
        }
        if (errno == ENOENT)
            return -1;
        f->kind = FOUND_REFUSED;
        snprintf(f->reason, sizeof(f->reason), "%s", strerror(errno));
        return 0;
    }
    f->dev = (uint64_t)st.st_dev;
    f->ino = (uint64_t)st.st_ino;
    f->size = (uint64_t)st.st_size;
    f->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    f->gz = lt_gz_is_gz(f->path);
    if (!S_ISREG(st.st_mode)) {
        f->kind = FOUND_REFUSED;
        snprintf(f->reason, sizeof(f->reason), "%s", kind_of(st.st_mode));
        return 0;
    }
    for (int k = 0; k < 2; k++)
        if (own[k].st_ino != 0 && own[k].st_dev == st.st_dev && own[k].st_ino == st.st_ino) {
            f->kind = FOUND_REFUSED;
            snprintf(f->reason, sizeof(f->reason), "%s",
                     k == 0 ? "the daemon's own state file" : "the daemon's own socket");
            return 0;
        }
    f->kind = FOUND_FILE;
    (void)s;
    return 0;
}

/* Reads the first bytes of a found file, decompressed for a .gz. */
static void probe(found *f)
{
    struct stat st;
    char err[256];
    int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    f->probed = 0;
    if (fd < 0) {
        f->probe_error = -errno;
        return;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_dev != f->dev ||
        (uint64_t)st.st_ino != f->ino) {
        f->probe_error = -ESTALE;    /* replaced since the stat: the next scan sees it */
        close(fd);
        return;
    }
    f->size = (uint64_t)st.st_size;
    if (f->gz) {
        int rc = lt_gz_head(fd, f->path, f->head, sizeof(f->head), &f->head_len, err, sizeof(err));
        if (rc < 0) {
            f->probe_error = rc;
            return;
        }
    } else {
        ssize_t got;
        do
            got = pread(fd, f->head, sizeof(f->head), 0);
        while (got < 0 && errno == EINTR);
        int e = errno;
        close(fd);
        if (got < 0) {
            f->probe_error = -e;
            return;
        }
        f->head_len = (size_t)got;
    }
    f->probed = 1;
}

/* --- lost files ---------------------------------------------------------- */

struct listed {
    uint64_t ino;
    char *path;
};

struct listing {
    struct listed *v;
    size_t n, cap;
    char *dirs[MAX_DIRS];     /* listed already */
    size_t n_dirs;
};

static void list_dir(struct listing *L, const char *dir, int depth)
{
    for (size_t i = 0; i < L->n_dirs; i++)
        if (strcmp(L->dirs[i], dir) == 0)
            return;
    if (L->n_dirs == MAX_DIRS || L->n >= MAX_LISTED || (L->dirs[L->n_dirs] = strdup(dir)) == NULL)
        return;
    L->n_dirs++;
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    char sub[MAX_DIRS][64];
    size_t n_sub = 0;
    while ((de = readdir(d)) != NULL && L->n < MAX_LISTED) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (de->d_type == DT_DIR) {
            if (depth > 0 && n_sub < MAX_DIRS && strlen(de->d_name) < sizeof(sub[0]))
                strcpy(sub[n_sub++], de->d_name);
            continue;
        }
        if (L->n == L->cap) {
            size_t nc = L->cap ? L->cap * 2 : 256;
            struct listed *v = realloc(L->v, nc * sizeof(*v));
            if (v == NULL)
                break;
            L->v = v;
            L->cap = nc;
        }
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        char *p = malloc(len);
        if (p == NULL)
            break;
        snprintf(p, len, "%s/%s", dir, de->d_name);
        L->v[L->n].ino = (uint64_t)de->d_ino;
        L->v[L->n].path = p;
        L->n++;
    }
    closedir(d);
    for (size_t i = 0; i < n_sub; i++) {
        char p[PATH_MAX];
        if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, sub[i]) < sizeof(p))
            list_dir(L, p, depth - 1);
    }
}

static void dir_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(out, cap, ".");
    else if (slash == path)
        snprintf(out, cap, "/");
    else
        snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

/* The start that a file's rotated names share: "access" for
 * "access.log.1" (up to the first '.'). */
static size_t stem_len(const char *base)
{
    const char *dot = strchr(base, '.');
    return dot ? (size_t)(dot - base) : strlen(base);
}

static void free_listing(struct listing *L)
{
    for (size_t k = 0; k < L->n; k++)
        free(L->v[k].path);
    free(L->v);
    for (size_t k = 0; k < L->n_dirs; k++)
        free(L->dirs[k]);
}

/* A name found beside a lost file or a family: kept (looked at, not yet
 * probed) when it is a regular file that is not to be skipped, else
 * dropped (NULL). */
static found *candidate(scan *s, const struct stat own[2], const char *path, size_t *cap)
{
    found *f = add_found(s, path, SIZE_MAX, cap);
    if (f == NULL)
        return NULL;
    if (look(s, own, f, 0) == 0 && f->kind == FOUND_FILE && !skipped(s, f->dev, f->ino, f->size))
        return f;
    free(f->path);
    s->n_found--;
    return NULL;
}

/* Drops the last found (a candidate that did not fit after all). */
static void drop_last(scan *s)
{
    free(s->found[--s->n_found].path);
}

static int cmp_found_id(const void *a, const void *b)
{
    const found *const *x = a, *const *y = b;
    if ((*x)->dev != (*y)->dev)
        return (*x)->dev < (*y)->dev ? -1 : 1;
    return (*x)->ino < (*y)->ino ? -1 : (*x)->ino > (*y)->ino;
}

static void find_lost(scan *s, const struct stat own[2], size_t *cap)
{
    size_t n = s->n_found;
    found **by_id = malloc((n ? n : 1) * sizeof(*by_id));
    struct listing L = {0};
    size_t probes = 0;
    if (by_id == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        by_id[i] = &s->found[i];
    qsort(by_id, n, sizeof(*by_id), cmp_found_id);
    for (size_t i = 0; i < s->n_lost; i++) {
        const scan_lost *l = &s->lost[i];
        found key = {0}, *kp = &key;
        key.dev = l->dev;
        key.ino = l->ino;
        if (n && bsearch(&kp, by_id, n, sizeof(*by_id), cmp_found_id) != NULL)
            continue;    /* a pattern names it */
        char dir[PATH_MAX], parent[PATH_MAX];
        dir_of(l->path, dir, sizeof(dir));
        dir_of(dir, parent, sizeof(parent));
        list_dir(&L, dir, 1);
        list_dir(&L, parent, 1);
        const char *base = strrchr(l->path, '/') ? strrchr(l->path, '/') + 1 : l->path;
        size_t stem = stem_len(base);
        int got = 0;
        for (size_t k = 0; k < L.n && !got; k++) {
            if (L.v[k].ino != l->ino || strncmp(strrchr(L.v[k].path, '/') + 1, base, stem) != 0)
                continue;    /* another inode, or a name no rotation of it takes */
            found *f = candidate(s, own, L.v[k].path, cap);
            if (f != NULL && f->dev == l->dev && f->ino == l->ino) {
                probe(f);
                got = 1;
            } else if (f != NULL) {
                drop_last(s);
            }
        }
        /* Not there by inode: perhaps compressed, under a new inode. */
        for (size_t k = 0; k < L.n && !got && probes < MAX_SIBLING_PROBES; k++) {
            const char *b = strrchr(L.v[k].path, '/') + 1;
            if (!lt_gz_is_gz(b) || strncmp(b, base, stem) != 0)
                continue;
            found *f = candidate(s, own, L.v[k].path, cap);
            if (f != NULL) {
                probe(f);
                probes++;
            }
        }
    }
    free_listing(&L);
    free(by_id);
}

/* Rotated siblings of a plain path: names that start with its own name
 * (logrotate appends to it: .1, .2.gz, -20240101), in its directory and
 * that directory's subdirectories (olddir), changed since the family's
 * time.  Not further: a file never seen is read only when it is surely a
 * rotation of this one, never another program's log next door. */
static void find_family(scan *s, const struct stat own[2], const scan_family *fam, size_t *cap)
{
    struct listing L = {0};
    char dir[PATH_MAX];
    const char *base = strrchr(fam->path, '/') ? strrchr(fam->path, '/') + 1 : fam->path;
    size_t stem = strlen(base), probes = 0;
    dir_of(fam->path, dir, sizeof(dir));
    list_dir(&L, dir, 1);
    for (size_t k = 0; k < L.n && probes < MAX_SIBLING_PROBES; k++) {
        const char *b = strrchr(L.v[k].path, '/') + 1;
        if (strncmp(b, base, stem) != 0 || b[stem] == '\0')
            continue;    /* another name, or a log of the same name (not a rotation) */
        found *f = candidate(s, own, L.v[k].path, cap);
        if (f != NULL && f->mtime_ms >= fam->since_ms) {
            f->sibling = 1;
            probe(f);
            probes++;
        } else if (f != NULL) {
            drop_last(s);
        }
    }
    free_listing(&L);
}

/* --- the scan ------------------------------------------------------------ */

void scan_run(scan *s)
{
    struct stat own[2];
    size_t cap = 0;

    for (int k = 0; k < 2; k++)
        if (s->own[k] == NULL || stat(s->own[k], &own[k]) < 0)
            memset(&own[k], 0, sizeof(own[k]));
    for (size_t i = 0; i < s->n_patterns; i++) {
        const char *spec = s->patterns[i];
        if (strpbrk(spec, "*?[") == NULL) {
            found *f = add_found(s, spec, i, &cap);
            if (f != NULL && look(s, own, f, 1) < 0) {
                free(f->path);
                s->n_found--;
            }
            continue;
        }
        glob_t g;
        if (glob(spec, GLOB_NOSORT, NULL, &g) == 0)
            for (size_t j = 0; j < g.gl_pathc; j++) {
                found *f = add_found(s, g.gl_pathv[j], i, &cap);
                if (f == NULL)
                    break;
                f->glob = 1;
                if (look(s, own, f, 0) < 0) {
                    free(f->path);
                    s->n_found--;
                }
            }
        globfree(&g);
    }
    for (size_t i = 0; i < s->n_found; i++) {
        found *f = &s->found[i];
        if (f->kind == FOUND_FILE && !skipped(s, f->dev, f->ino, f->size))
            probe(f);
    }
    if (s->n_lost > 0)
        find_lost(s, own, &cap);
    for (size_t i = 0; i < s->n_families; i++)
        find_family(s, own, &s->families[i], &cap);
}

void scan_clear(scan *s)
{
    for (size_t i = 0; i < s->n_patterns; i++)
        free(s->patterns[i]);
    free(s->patterns);
    for (int k = 0; k < 2; k++)
        free(s->own[k]);
    free(s->skip);
    for (size_t i = 0; i < s->n_lost; i++)
        free(s->lost[i].path);
    free(s->lost);
    for (size_t i = 0; i < s->n_families; i++)
        free(s->families[i].path);
    free(s->families);
    for (size_t i = 0; i < s->n_found; i++)
        free(s->found[i].path);
    free(s->found);
    memset(s, 0, sizeof(*s));
}
