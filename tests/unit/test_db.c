/*
 * test_db: the row-list reader of src/server/db.c (db_list, db_list_free)
 * on a scratch database: rows in order past the first growth, an empty
 * result, a missing statement, and a statement that fails after some rows,
 * where the rows already read are cleared and nothing is returned. Also
 * the connection settings: a new database gets 1 KiB pages, an existing one
 * keeps its own, and SQLite keeps no global allocation statistics.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/server/db.c"
#include "../../src/server/wlock.c"

/* db.c counts refused writes in metrics.c, which these tests do not link. */
void
metrics_db_unavailable(const char *reason)
{
	(void)reason;
}

#include <setjmp.h>
#include <cmocka.h>

#include "tmpdir.h"

struct item {
	int64_t	 n;
	char	*text;
};

static int cleared;
static struct item dummy;	/* a non-NULL start value, to see outputs set */
static char dbfile[96];

static void
item_read(sqlite3_stmt *st, void *elem)
{
	struct item *it = elem;

	it->n = db_col_i64(st, 0);
	it->text = db_col_strdup(st, 1);
}

static void
item_clear(void *elem)
{
	free(((struct item *)elem)->text);
	cleared++;
}

static const struct db_rowtype item_rows = { sizeof(struct item), item_read, item_clear };

/* Rows 1..40 (more than the first 16 slots); the rows after ?1 fail with
 * an integer overflow, which SQLite reports from sqlite3_step. */
static const char rows_sql[] = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c "
    "WHERE x < 40) SELECT CASE WHEN x <= ?1 THEN x ELSE abs((-9223372036854775807 - 1) * (x / x)) "
    "END, 'row ' || x FROM c WHERE x >= ?2";

/* A scratch directory for the database file. */
static void
new_dir(void)
{
	tmpdir_setup("/tmp/mt-test-db-XXXXXX");
	snprintf(dbfile, sizeof(dbfile), "%s/mt.db", tmp);
}

static int
setup(void **state)
{
	struct err err;

	(void)state;
	new_dir();
	return db_open(dbfile, false, &err);
}

static int
teardown(void **state)
{
	(void)state;
	db_close();
	tmpdir_teardown();
	return 0;
}

static int
list(int64_t ok_rows, int64_t first, struct item **items, size_t *n, struct err *err)
{
	struct conn *c = db_reader();
	void *v;
	int rc = db_list(c, db_prep(c, rows_sql, "ii", ok_rows, first), &item_rows, &v, n, err);

	*items = v;
	return rc;
}

static void
test_rows_in_order(void **state)
{
	struct item *items;
	struct err err;
	size_t n, i;

	(void)state;
	cleared = 0;
	assert_int_equal(list(40, 1, &items, &n, &err), 0);
	assert_int_equal(n, 40);
	for (i = 0; i < n; i++) {
		char want[32];

		snprintf(want, sizeof(want), "row %zu", i + 1);
		assert_int_equal(items[i].n, (int64_t)i + 1);
		assert_string_equal(items[i].text, want);
	}
	db_list_free(items, n, &item_rows);
	assert_int_equal(cleared, 40);
	/* the statement was reset: it runs again */
	assert_int_equal(list(40, 39, &items, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(items[1].n, 40);
	db_list_free(items, n, &item_rows);
}

static void
test_empty(void **state)
{
	struct item *items = &dummy;
	struct err err;
	size_t n = 99;

	(void)state;
	cleared = 0;
	assert_int_equal(list(40, 41, &items, &n, &err), 0);
	assert_null(items);
	assert_int_equal(n, 0);
	db_list_free(items, n, &item_rows);
	assert_int_equal(cleared, 0);
}

static void
test_failure_after_rows(void **state)
{
	struct item *items;
	struct err err;
	size_t n = 99;

	(void)state;
	cleared = 0;
	err_clear(&err);
	assert_int_equal(list(20, 1, &items, &n, &err), -1);
	assert_null(items);
	assert_int_equal(n, 0);
	assert_int_equal(cleared, 20);
	assert_int_equal(err.code, ERR_INTERNAL);
	assert_non_null(strstr(err.msg, "integer overflow"));
	/* the failed statement was reset and still works */
	assert_int_equal(list(40, 40, &items, &n, &err), 0);
	assert_int_equal(n, 1);
	db_list_free(items, n, &item_rows);
}

static void
test_no_statement(void **state)
{
	void *v = &dummy;
	struct err err;
	size_t n = 99;

	(void)state;
	assert_int_equal(db_list(db_reader(), NULL, &item_rows, &v, &n, &err), -1);
	assert_null(v);
	assert_int_equal(n, 0);
	assert_string_equal(err.msg, "statement unavailable");
	db_list_free(NULL, 0, &item_rows);
}

static int
pragma_int(struct conn *c, const char *sql)
{
	sqlite3_stmt *st = db_prep(c, sql, "");
	int v;

	assert_non_null(st);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return v;
}

static void
test_new_database_settings(void **state)
{
	(void)state;
	assert_int_equal(pragma_int(db_reader(), "PRAGMA page_size"), 1024);
	assert_int_equal(pragma_int(writer, "PRAGMA page_size"), 1024);
	assert_int_equal(ckpt_pages, 4096);	/* checkpoints at 4 MiB of WAL */
	/* with the statistics on, opening and migrating would have counted */
	assert_int_equal(sqlite3_memory_used(), 0);
}

/* A database made with SQLite's default 4 KiB pages, as earlier servers
 * left it: it keeps its page size, and the migrations still apply. */
static void
test_existing_page_size_kept(void **state)
{
	sqlite3 *raw;
	struct err err;

	(void)state;
	db_reader_release();
	teardown(NULL);
	new_dir();
	assert_int_equal(sqlite3_open(dbfile, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "PRAGMA page_size=4096; PRAGMA journal_mode=WAL; "
	    "CREATE TABLE old(x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	assert_int_equal(db_open(dbfile, false, &err), 0);
	assert_int_equal(pragma_int(db_reader(), "PRAGMA page_size"), 4096);
	assert_int_equal(ckpt_pages, 1024);
	assert_true(pragma_int(db_reader(), "SELECT COUNT(*) FROM schema_migrations") >= 6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_in_order),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_failure_after_rows),
		cmocka_unit_test(test_no_statement),
		cmocka_unit_test(test_new_database_settings),
		cmocka_unit_test(test_existing_page_size_kept),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
