/*
 * tree: nftw-based walks. nftw's callback has no user argument, so the few
 * parameters live in thread-local variables for the duration of a walk.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tree.h"

static _Thread_local bool walk_unreadable;
static _Thread_local int walk_failed;
static _Thread_local unsigned walk_uid, walk_gid;

static int
open_up(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)f;
	if (type == FTW_D || type == FTW_DNR) {
		bool ok = (st->st_mode & 0700) == 0700 ||
		    chmod(p, (st->st_mode & 07777) | 0700) == 0;

		if (type == FTW_DNR && ok)
			walk_unreadable = true;
	}
	return 0;
}

static int
remove_one(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)st, (void)f;
	if (unlinkat(AT_FDCWD, p, (type == FTW_DP || type == FTW_D) ? AT_REMOVEDIR : 0) == -1 &&
	    errno != ENOENT)
		walk_failed = errno;
	return 0;
}

int
tree_remove(const char *path)
{
	struct stat st;
	int rounds;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	/* Open every directory up; a newly readable one may hide more. */
	for (rounds = 0; rounds < 64; rounds++) {
		walk_unreadable = false;
		nftw(path, open_up, 32, FTW_PHYS | FTW_MOUNT);
		if (!walk_unreadable)
			break;
	}
	walk_failed = 0;
	nftw(path, remove_one, 32, FTW_PHYS | FTW_MOUNT | FTW_DEPTH);
	if (walk_failed != 0) {
		errno = walk_failed;
		return -1;
	}
	return lstat(path, &st) == -1 && errno == ENOENT ? 0 : -1;
}

static int
readonly_one(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)f;
	if ((type == FTW_F || type == FTW_DP || type == FTW_D) &&
	    chmod(p, st->st_mode & 07555) == -1)
		walk_failed = errno;
	return 0;
}

int
tree_make_readonly(const char *path)
{
	walk_failed = 0;
	nftw(path, readonly_one, 32, FTW_PHYS | FTW_MOUNT | FTW_DEPTH);
	if (walk_failed != 0) {
		errno = walk_failed;
		return -1;
	}
	return 0;
}

static int
chown_one(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)st, (void)type, (void)f;
	if (lchown(p, walk_uid, walk_gid) == -1)
		walk_failed = errno;
	return 0;
}

int
tree_chown(const char *path, unsigned uid, unsigned gid)
{
	walk_failed = 0;
	walk_uid = uid;
	walk_gid = gid;
	nftw(path, chown_one, 32, FTW_PHYS | FTW_MOUNT);
	if (walk_failed != 0) {
		errno = walk_failed;
		return -1;
	}
	return 0;
}
