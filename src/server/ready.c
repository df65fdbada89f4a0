/*
 * ready: the readiness checks. Each is bounded: the database write waits
 * READY_DB_MS at most, the file checks are one create, write and unlink, and
 * two statvfs calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "ready.h"
#include "store.h"
#include "util.h"

#define READY_DB_MS 1000

static int
db_ok(struct err *err)
{
	struct err e;

	if (store_ping() != 0)
		return err_set(err, ERR_INTERNAL, "db not ready: database cannot be read");
	if (store_writable(READY_DB_MS, &e) == -1)
		return err_set(err, ERR_INTERNAL, "db not ready: %s", e.msg);
	return 0;
}

/* Creates, writes and removes a probe file in dir. */
static int
dir_writable(const char *dir, struct err *err)
{
	char path[PATH_MAX], hex[33];
	int fd, rc = 0;

	crypto_random_hex16(hex);
	snprintf(path, sizeof(path), "%s/.ready-%s.tmp", dir, hex);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1)
		return err_set(err, ERR_INTERNAL, "objects directory not writable: %s", strerror(errno));
	if (write(fd, "ok", 2) != 2)
		rc = err_set(err, ERR_INTERNAL, "objects directory not writable: %s", strerror(errno));
	close(fd);
	unlink(path);
	return rc;
}

/* Free space of the file system holding path, in MiB; -1 if unknown. */
static int64_t
free_mb(const char *path)
{
	struct statvfs sv;

	if (statvfs(path, &sv) == -1)
		return -1;
	return (int64_t)((unsigned long long)sv.f_bavail * sv.f_frsize / (1024 * 1024));
}

static int
space_ok(const char *what, const char *path, int64_t min_mb, struct err *err)
{
	int64_t mb = free_mb(path);

	if (mb >= 0 && mb < min_mb)
		return err_set(err, ERR_INTERNAL, "low disk space: %lld MiB free for the %s, "
		    "MINITOWER_MIN_FREE_MB is %lld", (long long)mb, what, (long long)min_mb);
	return 0;
}

int
ready_check(const struct config *cfg, struct err *err)
{
	char dbdir[PATH_MAX];

	snprintf(dbdir, sizeof(dbdir), "%s", cfg->db_path);
	if (db_ok(err) == -1 || dir_writable(cfg->objects_dir, err) == -1)
		return -1;
	if (cfg->min_free_mb <= 0)
		return 0;
	if (space_ok("database", dirname(dbdir), cfg->min_free_mb, err) == -1 ||
	    space_ok("objects directory", cfg->objects_dir, cfg->min_free_mb, err) == -1)
		return -1;
	return 0;
}
