/* testdb.h: the central's unit tests on either backend (issue 15). ASR_TEST_DB picks it:
 * unset or "sqlite", a file in the test's folder as always; "pg", PostgreSQL:
 * testdb_main runs the program again under tests/pg/pgtmp.sh (one throw-away cluster per
 * test program, on 127.0.0.1, port ASR_TEST_PG_PORT or 27000 + pid % 1000; exit 77 naming
 * why when it cannot start, so automake reports a SKIP, never a silent pass), and
 * testdb_name gives each test a fresh database of that cluster. The password reaches
 * libpq through PGPASSFILE (pgtmp.sh's 0600 file), so cstore_open(URI) needs nothing more.
 * Makefile.am's PG pass: tests/unit/pg_check.sh NAME. POSIX only (the central's tests). */
#ifndef ASR_TESTDB_H
#define ASR_TESTDB_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* At the top of main: on ASR_TEST_DB=pg, execs the program under pgtmp.sh (once), or,
 * already under it, points libpq at the cluster's password file. Exits 99 on an unknown
 * ASR_TEST_DB value. */
void testdb_main(char **argv);

/* True in the PostgreSQL pass. */
bool testdb_pg(void);

/* The database of a test (in a fixture): SQLite, dir/file; PostgreSQL, the URI of a new
 * database named after file and dir, created empty when missing (the test fails when it
 * cannot be). out has n bytes. */
void testdb_name(const char *dir, const char *file, char *out, size_t n);

/* The first column of the first row of sql (no parameters) in the database name (a path or
 * a URI), read by a connection of its own; fails the test on an error or no row. */
int64_t testdb_i64(const char *name, const char *sql);

/* Adds tf to tc on SQLite; in the PostgreSQL pass reports it skipped and why (a test of
 * SQLite's files, locks or an old SQLite schema). */
#define TESTDB_SQLITE_TEST(tc, tf, why)                                                            \
  do {                                                                                             \
    if (!testdb_pg())                                                                              \
      tcase_add_test(tc, tf);                                                                      \
    else                                                                                           \
      testdb_skip(#tf, why);                                                                       \
  } while (0)

/* Prints that test is skipped in the PostgreSQL pass, and why. */
void testdb_skip(const char *test, const char *why);

#endif
