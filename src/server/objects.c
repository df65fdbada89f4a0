/*
 * objects: start-up of the object directory (objects.h). Only the top level
 * is swept, because http.c creates upload temp files there and nowhere
 * else; the name test is exact, so an operator's file never goes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "objects.h"

#define TMP_PREFIX ".upload-"
#define TMP_SUFFIX ".tmp"

/* True for ".upload-<something>.tmp". */
static bool
is_upload_tmp(const char *name)
{
	size_t n = strlen(name), p = strlen(TMP_PREFIX), s = strlen(TMP_SUFFIX);

	return n > p + s && strncmp(name, TMP_PREFIX, p) == 0 &&
	    strcmp(name + n - s, TMP_SUFFIX) == 0;
}

/* Removes one stale temp file of dir (fd dfd); 1 removed, 0 skipped. */
static int
remove_stale(int dfd, const char *dir, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode))
		return 0;
	if (unlinkat(dfd, name, 0) == -1) {
		log_error("stale upload not removed", "dir=%s file=%s error=%s", dir, name,
		    strerror(errno));
		return 0;
	}
	log_info("stale upload removed", "dir=%s file=%s bytes=%d", dir, name,
	    (int64_t)st.st_size);
	return 1;
}

int
objects_init(const char *dir, int64_t *removed, struct err *err)
{
	struct dirent *de;
	struct stat st;
	int64_t count = 0;
	DIR *d = NULL;
	int rc = -1;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return err_set(err, ERR_IO, "mkdir %s: %s", dir, strerror(errno));
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		return err_set(err, ERR_IO, "%s is not a directory", dir);
	if ((d = opendir(dir)) == NULL) {
		err_set(err, ERR_IO, "opendir %s: %s", dir, strerror(errno));
		goto out;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (is_upload_tmp(de->d_name))
			count += remove_stale(dirfd(d), dir, de->d_name);
		errno = 0;
	}
	if (errno != 0) {
		err_set(err, ERR_IO, "readdir %s: %s", dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (d != NULL)
		closedir(d);
	if (removed != NULL)
		*removed = count;
	return rc;
}
