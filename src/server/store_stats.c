/*
 * store_stats: reads of the hourly run roll-ups (migration 0012: run_stats,
 * run_stats_hist), which a trigger on runs keeps in the transaction that
 * ends each run. A read is one range of the (team_id, hour) primary keys.
 */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "store.h"

static void
stats_read(sqlite3_stmt *st, void *elem)
{
	struct stats_row *r = elem;
	const unsigned char *k = sqlite3_column_text(st, 1);

	r->hour = db_col_i64(st, 0);
	snprintf(r->key, sizeof(r->key), "%s", k != NULL ? (const char *)k : "");
	r->value_ms = db_col_i64(st, 2);
	r->runs = db_col_i64(st, 3);
	r->hist = db_col_i64(st, 4) != 0;
}

static const struct db_rowtype stats_rows = { sizeof(struct stats_row), stats_read, NULL };

int
store_run_stats(int64_t team_id, int64_t app_id, int64_t since_ms, int64_t until_ms,
    struct stats_row **out, size_t *n, struct err *err)
{
	static const char sql[] =
	    "SELECT hour, status, 0, SUM(runs), 0 FROM run_stats WHERE team_id=?1 AND hour>=?2 "
	    "AND hour<?3 AND (?4=0 OR app_id=?4) GROUP BY hour, status "
	    "UNION ALL SELECT hour, kind, value_ms, SUM(runs), 1 FROM run_stats_hist "
	    "WHERE team_id=?1 AND hour>=?2 AND hour<?3 AND (?4=0 OR app_id=?4) "
	    "GROUP BY hour, kind, value_ms ORDER BY 1";
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, sql, "iiii", team_id, since_ms, until_ms, app_id);
	void *v;
	int rc = db_list(c, st, &stats_rows, &v, n, err);

	*out = v;
	return rc;
}

void
store_stats_free(struct stats_row *rows, size_t n)
{
	db_list_free(rows, n, &stats_rows);
}
