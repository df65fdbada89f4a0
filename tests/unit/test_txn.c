/*
 * test_txn: group commit in src/server/db.c on a scratch database. Two
 * parts, the second queued while the first runs, share one COMMIT; the
 * first does not return before it. A second part that rolls back, or
 * fails on a statement, undoes only itself. A COMMIT that fails (a
 * deferred foreign key) fails every part of its group and leaves nothing.
 * A part that is alone commits at once; a group older than its bound
 * commits though parts queue. A transaction that SQLite rolled
 * back by itself fails its group, and the next part starts afresh. Then eight threads run parts that
 * commit, roll back or fail at random: afterwards the table holds exactly
 * the rows of the parts whose db_commit returned 0.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

static char dbfile[96];

static void
exec_ok(const char *sql)
{
	struct err err;
	struct conn *c = db_begin(&err);

	assert_non_null(c);
	assert_int_equal(sqlite3_exec(c->db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(db_commit(c, &err), 0);
}

static int
setup(void **state)
{
	struct err err;

	(void)state;
	group_max_us = INT64_MAX;	/* the harness's waits must not end a group */
	tmpdir_setup("/tmp/mt-test-txn-XXXXXX");
	snprintf(dbfile, sizeof(dbfile), "%s/mt.db", tmp);
	if (db_open(dbfile, true, &err) == -1)
		return -1;
	exec_ok("CREATE TABLE t(k INTEGER PRIMARY KEY, who TEXT NOT NULL);"
	    "CREATE TABLE p(id INTEGER PRIMARY KEY);"
	    "CREATE TABLE f(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p(id) "
	    "DEFERRABLE INITIALLY DEFERRED)");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	db_close();
	tmpdir_teardown();
	return 0;
}

/* The one-row, one-column result of st. */
static int64_t
scalar(struct conn *c, sqlite3_stmt *st)
{
	struct err err;
	int64_t n;

	assert_int_equal(db_step(c, st, &err), SQLITE_ROW);
	n = db_col_i64(st, 0);
	sqlite3_reset(st);
	return n;
}

static int64_t
count(const char *sql)
{
	struct conn *c = db_reader();

	return scalar(c, db_prep(c, sql, ""));
}

static int64_t
count_k(int64_t k)
{
	struct conn *c = db_reader();

	return scalar(c, db_prep(c, "SELECT COUNT(*) FROM t WHERE k=?", "i", k));
}

static void
pause_ms(int ms)
{
	nanosleep(&(struct timespec){ 0, ms * 1000000L }, NULL);
}

/* Waits (bounded) until n threads queue for the writer in db_begin. */
static void
wait_queued(int n)
{
	int i;

	for (i = 0; i < 20000 && wlock_waiting() < n; i++)
		pause_ms(1);
	assert_int_equal(wlock_waiting(), n);
}

/* ---- two parts, the second queued behind the first ---- */

enum second { SECOND_COMMITS, SECOND_ROLLS_BACK, SECOND_FAILS, SECOND_BREAKS_FK };

struct pair {
	enum second	 what;
	int		 rc1, rc2;
	struct err	 err1, err2;
	atomic_bool	 first_in;
	bool		 second_savepoint;
};

static void *
second_part(void *arg)
{
	struct pair *pr = arg;
	struct conn *c;

	while (!atomic_load(&pr->first_in))
		pause_ms(1);
	c = db_begin(&pr->err2);		/* queues behind the first part */
	assert_non_null(c);
	pr->second_savepoint = in_savepoint;
	switch (pr->what) {
	case SECOND_COMMITS:
		assert_int_equal(db_exec(c, "INSERT INTO t VALUES(2, 'second')", &pr->err2, ""), 0);
		pr->rc2 = db_commit(c, &pr->err2);
		break;
	case SECOND_ROLLS_BACK:
		assert_int_equal(db_exec(c, "INSERT INTO t VALUES(2, 'second')", &pr->err2, ""), 0);
		db_rollback(c);
		pr->rc2 = -1;
		break;
	case SECOND_FAILS:
		assert_int_equal(db_exec(c, "INSERT INTO t VALUES(2, 'second')", &pr->err2, ""), 0);
		assert_int_equal(db_exec(c, "INSERT INTO t VALUES(1, 'again')", &pr->err2, ""), -1);
		db_rollback(c);
		pr->rc2 = -1;
		break;
	case SECOND_BREAKS_FK:
		assert_int_equal(db_exec(c, "INSERT INTO f VALUES(1, 99)", &pr->err2, ""), 0);
		pr->rc2 = db_commit(c, &pr->err2);	/* RELEASE does not check it */
		break;
	}
	return NULL;
}

static void
run_pair(struct pair *pr)
{
	pthread_t t;
	struct conn *c;
	int64_t g0 = groups;

	atomic_store(&pr->first_in, false);
	assert_int_equal(pthread_create(&t, NULL, second_part, pr), 0);
	c = db_begin(&pr->err1);
	assert_non_null(c);
	assert_false(in_savepoint);
	assert_int_equal(db_exec(c, "INSERT INTO t VALUES(1, 'first')", &pr->err1, ""), 0);
	atomic_store(&pr->first_in, true);
	wait_queued(1);
	pr->rc1 = db_commit(c, &pr->err1);	/* returns after the group's COMMIT */
	assert_int_equal(groups, g0 + 1);	/* one COMMIT for both parts */
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(groups, g0 + 1);
	assert_true(pr->second_savepoint);
}

static void
clear_rows(void)
{
	exec_ok("DELETE FROM t; DELETE FROM f");
}

static void
test_queued_parts_share_a_commit(void **state)
{
	struct pair pr = { .what = SECOND_COMMITS };
	int64_t p0 = parts;

	(void)state;
	run_pair(&pr);
	assert_int_equal(pr.rc1, 0);
	assert_int_equal(pr.rc2, 0);
	assert_int_equal(parts, p0 + 2);
	assert_int_equal(count("SELECT COUNT(*) FROM t"), 2);
	assert_false(in_txn);
	clear_rows();
}

static void
test_second_rolls_back_alone(void **state)
{
	struct pair pr = { .what = SECOND_ROLLS_BACK };

	(void)state;
	run_pair(&pr);
	assert_int_equal(pr.rc1, 0);
	assert_int_equal(count("SELECT COUNT(*) FROM t WHERE k=1 AND who='first'"), 1);
	assert_int_equal(count("SELECT COUNT(*) FROM t"), 1);
	clear_rows();
}

static void
test_second_fails_alone(void **state)
{
	struct pair pr = { .what = SECOND_FAILS };

	(void)state;
	run_pair(&pr);
	assert_int_equal(pr.rc1, 0);
	assert_non_null(strstr(pr.err2.msg, "UNIQUE"));
	assert_int_equal(count("SELECT COUNT(*) FROM t WHERE k=1 AND who='first'"), 1);
	assert_int_equal(count("SELECT COUNT(*) FROM t"), 1);
	clear_rows();
}

static void
test_failed_commit_fails_the_group(void **state)
{
	struct pair pr = { .what = SECOND_BREAKS_FK };

	(void)state;
	run_pair(&pr);
	assert_int_equal(pr.rc1, -1);
	assert_int_equal(pr.rc2, -1);
	assert_non_null(strstr(pr.err1.msg, "commit: "));
	assert_non_null(strstr(pr.err1.msg, "FOREIGN KEY"));
	assert_non_null(strstr(pr.err2.msg, "FOREIGN KEY"));
	assert_int_equal(count("SELECT COUNT(*) FROM t"), 0);
	assert_int_equal(count("SELECT COUNT(*) FROM f"), 0);
	assert_int_equal(sqlite3_get_autocommit(writer->db), 1);
	exec_ok("INSERT INTO t VALUES(3, 'after')");	/* the writer works on */
	assert_int_equal(count("SELECT COUNT(*) FROM t"), 1);
	clear_rows();
}

static void
test_lone_parts(void **state)
{
	struct err err;
	struct conn *c;
	int64_t g0 = groups;

	(void)state;
	c = db_begin(&err);
	assert_int_equal(db_exec(c, "INSERT INTO t VALUES(5, 'alone')", &err, ""), 0);
	db_rollback(c);				/* the first part: a plain ROLLBACK */
	assert_false(in_txn);
	assert_int_equal(sqlite3_get_autocommit(writer->db), 1);
	assert_int_equal(groups, g0);
	c = db_begin(&err);
	assert_int_equal(db_exec(c, "INSERT INTO t VALUES(6, 'alone')", &err, ""), 0);
	assert_int_equal(db_commit(c, &err), 0);
	assert_int_equal(groups, g0 + 1);
	assert_int_equal(count("SELECT COUNT(*) FROM t"), 1);
	clear_rows();
}

/* A group older than group_max_us commits when its next part ends, even
 * with a part queued: a group adds a bounded wait. */
static void
test_old_group_commits_though_parts_queue(void **state)
{
	struct pair pr = { .what = SECOND_COMMITS };
	pthread_t t;
	struct conn *c;
	int64_t g0 = groups;

	(void)state;
	group_max_us = 1000;
	atomic_store(&pr.first_in, false);
	assert_int_equal(pthread_create(&t, NULL, second_part, &pr), 0);
	c = db_begin(&pr.err1);
	assert_int_equal(db_exec(c, "INSERT INTO t VALUES(1, 'first')", &pr.err1, ""), 0);
	atomic_store(&pr.first_in, true);
	wait_queued(1);
	pause_ms(3);				/* the group is now older than 1 ms */
	assert_int_equal(db_commit(c, &pr.err1), 0);	/* committed alone: B still queued */
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(pr.rc2, 0);
	assert_false(pr.second_savepoint);	/* it began the next group */
	assert_int_equal(groups, g0 + 2);
	assert_int_equal(count("SELECT COUNT(*) FROM t"), 2);
	group_max_us = INT64_MAX;
	clear_rows();
}

/* The group's transaction vanishes inside the second part (as after an
 * I/O error SQLite rolls back by itself): both parts fail, and a third part
 * queued meanwhile starts a transaction of its own and commits. */
struct lost {
	atomic_bool	 first_in;
	int		 rc2, rc3;
	struct err	 err2, err3;
	bool		 third_savepoint;
};

static void *
third_part(void *arg)
{
	struct lost *l = arg;
	struct conn *c = db_begin(&l->err3);

	l->third_savepoint = in_savepoint;
	if (db_exec(c, "INSERT INTO t VALUES(3, 'third')", &l->err3, "") == -1)
		l->rc3 = -2;
	else
		l->rc3 = db_commit(c, &l->err3);
	return NULL;
}

static void *
vanishing_part(void *arg)
{
	struct lost *l = arg;
	pthread_t t3;
	struct conn *c;

	while (!atomic_load(&l->first_in))
		pause_ms(1);
	c = db_begin(&l->err2);
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);	/* SQLite's own rollback */
	pthread_create(&t3, NULL, third_part, l);
	wait_queued(1);
	l->rc2 = db_commit(c, &l->err2);
	pthread_join(t3, NULL);
	return NULL;
}

static void
test_lost_transaction_fails_its_group_only(void **state)
{
	struct lost l = { .rc2 = 9, .rc3 = 9 };
	struct err err;
	pthread_t t;
	struct conn *c;
	int rc1;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, vanishing_part, &l), 0);
	c = db_begin(&err);
	assert_int_equal(db_exec(c, "INSERT INTO t VALUES(1, 'first')", &err, ""), 0);
	atomic_store(&l.first_in, true);
	wait_queued(1);
	rc1 = db_commit(c, &err);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(rc1, -1);
	assert_int_equal(l.rc2, -1);
	assert_int_equal(l.rc3, 0);
	assert_false(l.third_savepoint);	/* a new group, opened with BEGIN */
	assert_int_equal(count("SELECT COUNT(*) FROM t WHERE k=1"), 0);
	assert_int_equal(count("SELECT COUNT(*) FROM t WHERE k=3"), 1);
	assert_false(in_txn);
	clear_rows();
}

/* ---- many threads ---- */

#define THREADS 8
#define PARTS 300

struct worker {
	int	 id;
	char	 done[PARTS];		/* 1: its db_commit returned 0 */
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned seed = (unsigned)w->id * 7919u + 1;
	struct err err;
	int i;

	for (i = 0; i < PARTS; i++) {
		struct conn *c = db_begin(&err);
		int64_t k = (int64_t)w->id * PARTS + i + 100;
		int r = rand_r(&seed) % 6;

		assert_non_null(c);
		assert_int_equal(db_exec(c, "INSERT INTO t VALUES(?, 'w')", &err, "i", k), 0);
		if (r == 0) {
			db_rollback(c);
		} else if (r == 1) {		/* a statement error, then roll back */
			assert_int_equal(db_exec(c, "INSERT INTO t VALUES(?, 'dup')", &err, "i", k), -1);
			db_rollback(c);
		} else {
			w->done[i] = db_commit(c, &err) == 0;
		}
	}
	return NULL;
}

static void
test_threads_keep_exactly_the_committed_parts(void **state)
{
	static struct worker ws[THREADS];
	pthread_t t[THREADS];
	int64_t want = 0, p0 = parts, g0 = groups;
	int i, j;

	(void)state;
	group_max_us = 2000;			/* minitowerd's bound */
	for (i = 0; i < THREADS; i++) {
		ws[i].id = i;
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &ws[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (i = 0; i < THREADS; i++)
		for (j = 0; j < PARTS; j++) {
			want += ws[i].done[j];
			assert_int_equal(count_k((int64_t)i * PARTS + j + 100), ws[i].done[j]);
		}
	assert_int_equal(count("SELECT COUNT(*) FROM t"), want);
	assert_true(want > 0);
	assert_false(in_txn);
	assert_true(groups > g0 && groups - g0 <= parts - p0);
	printf("# %lld parts in %lld commits\n", (long long)(parts - p0), (long long)(groups - g0));
	group_max_us = INT64_MAX;
	clear_rows();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queued_parts_share_a_commit),
		cmocka_unit_test(test_second_rolls_back_alone),
		cmocka_unit_test(test_second_fails_alone),
		cmocka_unit_test(test_failed_commit_fails_the_group),
		cmocka_unit_test(test_lone_parts),
		cmocka_unit_test(test_old_group_commits_though_parts_queue),
		cmocka_unit_test(test_lost_transaction_fails_its_group_only),
		cmocka_unit_test(test_threads_keep_exactly_the_committed_parts),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
