/*
 * project: reading a project's Towerfile for `deploy` and `run`
 * (towerfile.md §6.1): the file's bytes are kept, since exactly those bytes
 * are packaged, and parsed with the same parser minitowerd uses.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

#define TOWERFILE_READ_MAX	(16u * 1024 * 1024)

int
project_towerfile(const char *dir, char **text, size_t *len, struct towerfile **tf, struct err *err)
{
	char *path = xasprintf("%s/Towerfile", dir), chunk[8192];
	struct buf b;
	int fd, rc = -1;
	ssize_t n;

	*text = NULL;
	*tf = NULL;
	buf_init(&b, TOWERFILE_READ_MAX);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = errno == ENOENT ? 1 : -1;
		err_set(err, ERR_IO, "cannot open Towerfile: open %s: %s", path, strerror(errno));
		goto out;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || buf_add(&b, chunk, (size_t)n) == -1) {
			err_set(err, ERR_IO, "cannot open Towerfile: read %s: %s", path,
			    n < 0 ? strerror(errno) : "file too large");
			goto out;
		}
	}
	if (towerfile_parse(buf_str(&b), b.len, tf, err) == -1) {
		err_prefix(err, "parsing Towerfile: ");
		goto out;
	}
	*len = b.len;
	*text = b.data != NULL ? buf_take(&b) : xstrdup("");
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_free(&b);
	free(path);
	return rc;
}
