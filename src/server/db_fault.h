/*
 * db_fault: the store's fault-injection seam, compiled in only with
 * -DMT_FAULTS (the test builds in build/<variant>/faults, Makefile). Armed
 * through the test-only route POST /__faults, it makes SQLite calls on the
 * writer connection (or on every connection) fail as if SQLite had returned
 * SQLITE_BUSY, SQLITE_IOERR or SQLITE_FULL: `skip` calls pass, then `count`
 * fail. Skipping k calls puts the fault between the k-th and the next
 * statement of a transaction, BEGIN and COMMIT included (docs/reliability.md).
 * Without MT_FAULTS every function here is an inline no-op.
 */
#ifndef MT_DB_FAULT_H
#define MT_DB_FAULT_H

#include <stdbool.h>

#include "err.h"

#ifdef MT_FAULTS
/* Arms the seam: kind "busy", "ioerr" or "full" (or "off"); skip calls pass,
 * then count calls fail; all_conns includes the readers. 0, or -1 (ERR_INVALID). */
int dbfault_arm(const char *kind, int skip, int count, bool all_conns, struct err *err);
/* The SQLite result code to inject for the next call on a connection
 * (is_writer says which), or 0 to run it for real. */
int dbfault_take(bool is_writer);
/* How many faults were injected since start (for the test's report). */
long dbfault_injected(void);
#else
static inline int
dbfault_take(bool is_writer)
{
	(void)is_writer;
	return 0;
}
#endif

#endif
