/* test_registry.c -- Check suite for lib/registry.c: files known by
 * identity through renames, re-spellings, reused inodes, copies, .gz
 * copies, truncations refilled past the offset, and forgetting. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lt_test.h"
#include "registry.h"

/* The first bytes of a log: two contents differ in their first line. */
static const char A[] = "10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] \"GET /a HTTP/1.1\" 200 1\n"
                        "10.0.0.2 - - [01/Jan/2024:00:00:01 +0000] \"GET /b HTTP/1.1\" 200 1\n";
static const char B[] = "10.0.0.9 - - [02/Jan/2024:00:00:00 +0000] \"GET /z HTTP/1.1\" 200 1\n"
                        "10.0.0.2 - - [01/Jan/2024:00:00:01 +0000] \"GET /b HTTP/1.1\" 200 1\n";

static lt_reg_probe probe(uint64_t dev, uint64_t ino, const char *head, uint64_t size, int gz)
{
    lt_reg_probe p = {dev, ino, size, gz, (const unsigned char *)head, strlen(head)};
    if (p.head_len > size)
        p.head_len = (size_t)size;
    return p;
}

/* A file read up to offset (as the daemon does after reading it). */
static lt_reg_entry *read_to(lt_registry *r, const lt_reg_probe *p, const char *path,
                             uint64_t offset, uint64_t lines)
{
    lt_reg_entry *e;
    int v = lt_registry_resolve(r, p, path, 100, &e);
    ck_assert(v == LT_REG_NEW || v == LT_REG_SAME || v == LT_REG_CONTINUES);
    e->offset = offset;
    e->lines = lines;
    return e;
}

START_TEST(renamed_and_respelled_files_continue)
{
    lt_registry *r = lt_registry_new();
    lt_reg_probe p = probe(1, 42, A, 5000, 0);
    lt_reg_entry *e;
    ck_assert_int_eq(lt_registry_resolve(r, &p, "/l/access.log", 10, &e), LT_REG_NEW);
    ck_assert_uint_eq(e->offset, 0);
    e->offset = 4000;
    e->lines = 40;
    /* Another name for the same file: renamed, "logs//a.log", a symlink. */
    const char *names[] = {"/l/access.log.1", "/l//access.log", "/l/current"};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(lt_registry_resolve(r, &p, names[i], 20 + i, &e), LT_REG_SAME);
        ck_assert_uint_eq(e->offset, 4000);
        ck_assert_uint_eq(e->lines, 40);
        ck_assert_str_eq(e->path, names[i]);
        ck_assert_int_eq(e->seen, 20 + i);
    }
    ck_assert_uint_eq(lt_registry_count(r), 1);
    lt_registry_free(r);
}
END_TEST

START_TEST(a_reused_inode_with_other_bytes_is_a_new_file)
{
    lt_registry *r = lt_registry_new();
    lt_reg_probe a = probe(1, 42, A, 5000, 0), b = probe(1, 42, B, 300, 0);
    read_to(r, &a, "/l/access.log", 5000, 50);
    lt_reg_entry *e;
    ck_assert_int_eq(lt_registry_resolve(r, &b, "/l/access.log", 30, &e), LT_REG_NEW);
    ck_assert_uint_eq(e->offset, 0);
    ck_assert_uint_eq(e->lines, 0);
    /* The old content is kept as a ghost, for a copy of it. */
    ck_assert_uint_eq(lt_registry_count(r), 2);
    ck_assert_ptr_eq(lt_registry_find(r, 1, 42), e);
    lt_registry_free(r);
}
END_TEST

START_TEST(a_truncation_refilled_past_the_offset_starts_over)
{
    /* copytruncate, then more written than had been read, between two
     * looks: the size alone says nothing, the first bytes do. */
    lt_registry *r = lt_registry_new();
    lt_reg_probe a = probe(1, 7, A, 1000, 0), refilled = probe(1, 7, B, 9000, 0);
    read_to(r, &a, "/l/access.log", 1000, 10);
    lt_reg_entry *e;
    ck_assert_int_eq(lt_registry_resolve(r, &refilled, "/l/access.log", 30, &e), LT_REG_NEW);
    ck_assert_uint_eq(e->offset, 0);
    ck_assert_uint_eq(e->truncations, 1);
    /* logrotate's copy of the old content continues at 1000: its first
     * 1000 bytes were counted through access.log. */
    lt_reg_probe copy = probe(1, 8, A, 1500, 0);
    ck_assert_int_eq(lt_registry_resolve(r, &copy, "/l/access.log.1", 31, &e), LT_REG_CONTINUES);
    ck_assert_uint_eq(e->offset, 1000);
    ck_assert_uint_eq(e->lines, 10);
    /* The ghost was claimed: a second copy continues from the first. */
    e->offset = 1500;
    lt_reg_probe copy2 = probe(1, 9, A, 1500, 0);
    ck_assert_int_eq(lt_registry_resolve(r, &copy2, "/l/x", 32, &e), LT_REG_CONTINUES);
    ck_assert_uint_eq(e->offset, 1500);
    ck_assert_uint_eq(lt_registry_count(r), 3);
    lt_registry_free(r);
}
END_TEST

START_TEST(a_truncation_below_the_offset_keeps_a_ghost)
{
    lt_registry *r = lt_registry_new();
    lt_reg_probe a = probe(1, 7, A, 1000, 0), shorter = probe(1, 7, A, 500, 0);
    read_to(r, &a, "/l/access.log", 1000, 10);
    lt_reg_entry *e;
    /* Same first bytes, shorter than the offset: truncated and refilled
     * with a copy of its start (the rare case); it starts over. */
    ck_assert_int_eq(lt_registry_resolve(r, &shorter, "/l/access.log", 30, &e), LT_REG_SAME);
    ck_assert_uint_eq(e->offset, 0);
    ck_assert_uint_eq(e->truncations, 1);
    ck_assert_uint_eq(lt_registry_count(r), 2);
    lt_registry_free(r);
}
END_TEST

START_TEST(a_gz_of_a_known_file_continues_where_it_was_read)
{
    lt_registry *r = lt_registry_new();
    lt_reg_probe a = probe(1, 42, A, 5000, 0);
    lt_reg_entry *plain = read_to(r, &a, "/l/access.log.1", 5000, 50);
    /* While the plain file is being read, its .gz waits. */
    plain->active = 1;
    lt_reg_probe gz = probe(1, 43, A, 5000, 1);
    lt_reg_entry *e;
    ck_assert_int_eq(lt_registry_resolve(r, &gz, "/l/access.log.2.gz", 40, &e), LT_REG_WAIT);
    ck_assert_ptr_null(e);
    plain->active = 0;
    plain->state = LT_REG_DONE;
    ck_assert_int_eq(lt_registry_resolve(r, &gz, "/l/access.log.2.gz", 41, &e), LT_REG_CONTINUES);
    ck_assert_uint_eq(e->offset, 5000);
    ck_assert_int_eq(e->gz, 1);
    /* Once read whole, it is skipped under any name. */
    e->state = LT_REG_DONE;
    ck_assert_int_eq(lt_registry_resolve(r, &gz, "/l/access.log.3.gz", 42, &e), LT_REG_SKIP);
    /* An unknown .gz is new. */
    lt_reg_probe other = probe(1, 44, B, 900, 1);
    ck_assert_int_eq(lt_registry_resolve(r, &other, "/l/other.gz", 43, &e), LT_REG_NEW);
    lt_registry_free(r);
}
END_TEST

START_TEST(short_starts_never_match_other_files)
{
    lt_registry *r = lt_registry_new();
    lt_reg_probe tiny = probe(1, 5, "10.0.0.1 -", 10, 0);
    read_to(r, &tiny, "/l/a", 10, 0);
    lt_reg_probe empty = probe(1, 6, "", 0, 0);
    read_to(r, &empty, "/l/b", 0, 0);
    lt_reg_entry *e;
    lt_reg_probe c = probe(1, 9, A, 5000, 0);
    ck_assert_int_eq(lt_registry_resolve(r, &c, "/l/c", 50, &e), LT_REG_NEW);
    lt_registry_free(r);
}
END_TEST

/* An empty rotated file known only by its inode (access.log.4, empty when
 * it was rotated), deleted while the daemon was down, its inode then taken
 * by logrotate's copy of access.log: the copy continues the content read
 * through access.log, and an empty or unknown file under that inode is
 * still the entry's. */
START_TEST(an_empty_files_inode_taken_by_a_copy_continues_the_copied_content)
{
    lt_registry *r = lt_registry_new();
    lt_reg_probe a = probe(1, 7, A, 1000, 0), empty = probe(1, 30, "", 0, 0);
    read_to(r, &a, "/l/access.log", 1000, 10);
    lt_reg_entry *e = read_to(r, &empty, "/l/access.log.4", 0, 0);
    e->rotations = 3;
    lt_reg_probe copy = probe(1, 30, A, 1000, 0);
    ck_assert_int_eq(lt_registry_resolve(r, &copy, "/l/access.log.1", 40, &e), LT_REG_CONTINUES);
    ck_assert_uint_eq(e->offset, 1000);
    ck_assert_uint_eq(e->lines, 10);
    ck_assert_ptr_eq(lt_registry_find(r, 1, 30), e);
    ck_assert_uint_eq(lt_registry_count(r), 2);
    /* Bytes no entry knows, or none, under an inode known empty: the same
     * file, read from 0 as before. */
    lt_reg_probe other = probe(1, 31, "", 0, 0), grown = probe(1, 31, B, 900, 0);
    read_to(r, &other, "/l/b.log", 0, 0);
    ck_assert_int_eq(lt_registry_resolve(r, &grown, "/l/b.log.1", 41, &e), LT_REG_SAME);
    ck_assert_uint_eq(e->offset, 0);
    ck_assert_str_eq(e->path, "/l/b.log.1");
    lt_registry_free(r);
}
END_TEST

START_TEST(a_growing_file_is_fingerprinted_again)
{
    lt_registry *r = lt_registry_new();
    char head[40];
    memcpy(head, A, 39);
    head[39] = '\0';
    lt_reg_probe p = probe(1, 5, head, 39, 0);
    lt_reg_entry *e = read_to(r, &p, "/l/a", 39, 0);
    ck_assert_uint_eq(e->fp_len, 39);
    lt_reg_probe grown = probe(1, 5, A, 5000, 0);
    ck_assert_int_eq(lt_registry_resolve(r, &grown, "/l/a", 60, &e), LT_REG_SAME);
    ck_assert_uint_eq(e->fp_len, strlen(A));
    ck_assert_uint_eq(e->offset, 39);
    lt_registry_free(r);
}
END_TEST

START_TEST(forgetting_is_bounded_and_spares_what_is_followed)
{
    lt_registry *r = lt_registry_new();
    char head[300];
    for (int i = 0; i < 100; i++) {
        snprintf(head, sizeof(head), "10.0.0.%d - - [01/Jan/2024:00:00:%02d +0000] \"GET / HTTP/1.1\" 200 1\n",
                 i, i % 60);
        lt_reg_probe p = probe(1, (uint64_t)i + 1, head, 1000, 0);
        lt_reg_entry *e;
        ck_assert_int_ge(lt_registry_resolve(r, &p, "/l/x", i, &e), 0);
        e->state = i < 90 ? LT_REG_DONE : LT_REG_FOLLOWING;
        ck_assert_ptr_eq(lt_registry_find(r, 1, (uint64_t)i + 1), e);
    }
    ck_assert_uint_eq(lt_registry_count(r), 100);
    /* Older than 50 s at time 100: the done ones seen at 0..49. */
    ck_assert_uint_eq(lt_registry_expire(r, 100, 50, 1000), 50);
    ck_assert_ptr_null(lt_registry_find(r, 1, 1));
    ck_assert_ptr_nonnull(lt_registry_find(r, 1, 51));
    /* At most 20 entries: the least recently seen done ones go first; the
     * followed ones (90..99) stay whatever the bound. */
    ck_assert_uint_eq(lt_registry_expire(r, 100, 1000, 20), 30);
    ck_assert_uint_eq(lt_registry_count(r), 20);
    ck_assert_ptr_null(lt_registry_find(r, 1, 80));
    ck_assert_ptr_nonnull(lt_registry_find(r, 1, 81));
    ck_assert_ptr_nonnull(lt_registry_find(r, 1, 100));
    ck_assert_uint_eq(lt_registry_expire(r, 100, 0, 0), 10);
    ck_assert_uint_eq(lt_registry_count(r), 10);
    lt_registry_free(r);
}
END_TEST

START_TEST(many_files_are_found_by_identity)
{
    lt_registry *r = lt_registry_new();
    char head[300];
    for (int i = 0; i < 20000; i++) {
        snprintf(head, sizeof(head), "h%d - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1\n", i);
        lt_reg_entry e = {0};
        e.path = head;
        e.dev = 3;
        e.ino = (uint64_t)i * 7919;
        e.fp_len = (uint32_t)strlen(head);
        e.fp_hash = lt_registry_fp((const unsigned char *)head, e.fp_len);
        e.offset = (uint64_t)i;
        ck_assert_ptr_nonnull(lt_registry_add(r, &e));
    }
    for (int i = 0; i < 20000; i += 997)
        ck_assert_uint_eq(lt_registry_find(r, 3, (uint64_t)i * 7919)->offset, (uint64_t)i);
    ck_assert_ptr_null(lt_registry_find(r, 3, 1));
    /* A copy of one of them is matched through the fingerprint index. */
    snprintf(head, sizeof(head), "h%d - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1\n", 12345);
    lt_reg_probe copy = probe(4, 1, head, 20000, 0);
    lt_reg_entry *c;
    ck_assert_int_eq(lt_registry_resolve(r, &copy, "/copy", 1, &c), LT_REG_CONTINUES);
    ck_assert_uint_eq(c->offset, 12345);
    lt_registry_remove(r, c);
    /* Removing keeps the index right. */
    for (int i = 0; i < 20000; i += 2)
        lt_registry_remove(r, lt_registry_find(r, 3, (uint64_t)i * 7919));
    ck_assert_uint_eq(lt_registry_count(r), 10000);
    for (int i = 1; i < 20000; i += 2)
        ck_assert_uint_eq(lt_registry_find(r, 3, (uint64_t)i * 7919)->offset, (uint64_t)i);
    /* The copy's original (12345 is odd) is still found; an even one is gone. */
    ck_assert_int_eq(lt_registry_resolve(r, &copy, "/copy", 2, &c), LT_REG_CONTINUES);
    snprintf(head, sizeof(head), "h%d - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1\n", 12344);
    lt_reg_probe gone = probe(4, 2, head, 20000, 0);
    ck_assert_int_eq(lt_registry_resolve(r, &gone, "/copy2", 3, &c), LT_REG_NEW);
    lt_registry_free(r);
    lt_registry_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, renamed_and_respelled_files_continue);
    tcase_add_test(tc, a_reused_inode_with_other_bytes_is_a_new_file);
    tcase_add_test(tc, a_truncation_refilled_past_the_offset_starts_over);
    tcase_add_test(tc, a_truncation_below_the_offset_keeps_a_ghost);
    tcase_add_test(tc, a_gz_of_a_known_file_continues_where_it_was_read);
    tcase_add_test(tc, short_starts_never_match_other_files);
    tcase_add_test(tc, an_empty_files_inode_taken_by_a_copy_continues_the_copied_content);
    tcase_add_test(tc, a_growing_file_is_fingerprinted_again);
    tcase_add_test(tc, forgetting_is_bounded_and_spares_what_is_followed);
    tcase_add_test(tc, many_files_are_found_by_identity);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
