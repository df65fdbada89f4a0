/*
 * db_fault: the armed fault, behind one mutex (test builds only).
 */
#ifdef MT_FAULTS
#include <pthread.h>
#include <sqlite3.h>
#include <string.h>

#include "db_fault.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int code, skip_left, fail_left;
static bool everywhere;
static long injected;

int
dbfault_arm(const char *kind, int skip, int count, bool all_conns, struct err *err)
{
	static const struct { const char *name; int rc; } kinds[] = {
		{ "busy", SQLITE_BUSY }, { "ioerr", SQLITE_IOERR }, { "full", SQLITE_FULL },
		{ "off", 0 },
	};
	size_t i;

	if (skip < 0 || count < 0)
		return err_set(err, ERR_INVALID, "skip and count must be >= 0");
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(kind, kinds[i].name) != 0)
			continue;
		pthread_mutex_lock(&mu);
		code = kinds[i].rc;
		skip_left = skip;
		fail_left = code != 0 ? count : 0;
		everywhere = all_conns;
		pthread_mutex_unlock(&mu);
		return 0;
	}
	return err_set(err, ERR_INVALID, "kind must be busy, ioerr, full or off");
}

int
dbfault_take(bool is_writer)
{
	int rc = 0;

	pthread_mutex_lock(&mu);
	if (fail_left > 0 && (is_writer || everywhere)) {
		if (skip_left > 0) {
			skip_left--;
		} else {
			fail_left--;
			injected++;
			rc = code;
		}
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

long
dbfault_injected(void)
{
	long n;

	pthread_mutex_lock(&mu);
	n = injected;
	pthread_mutex_unlock(&mu);
	return n;
}
#else
/* ISO C wants a translation unit to declare something. */
extern int db_fault_unused;
#endif
