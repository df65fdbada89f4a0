/*
 * jobuid: the scan starts at a random place in the range so that runners
 * starting together do not all try the same uids first.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobuid.h"
#include "lease.h"

#define LOCK_DIR	"/run/minitower/uids"

int
jobuid_acquire(uid_t first, uid_t last, uid_t *uid, struct err *err)
{
	uint64_t n = (uint64_t)last - first + 1, i, start = (uint64_t)(lease_rand() * (double)n) % n;
	char path[128];
	int fd;

	(void)mkdir("/run/minitower", 0755);
	if (mkdir(LOCK_DIR, 0700) == -1 && errno != EEXIST)
		return err_set(err, ERR_IO, "mkdir %s: %s", LOCK_DIR, strerror(errno));
	for (i = 0; i < n; i++) {
		uid_t u = (uid_t)(first + (start + i) % n);

		snprintf(path, sizeof(path), "%s/%u.lock", LOCK_DIR, (unsigned)u);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd == -1)
			return err_set(err, ERR_IO, "open %s: %s", path, strerror(errno));
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			*uid = u;
			return fd;
		}
		close(fd);
	}
	return err_set(err, ERR_IO, "every uid of MINITOWER_JOB_UID_RANGE is in use");
}

void
jobuid_release(int lock_fd)
{
	if (lock_fd >= 0)
		close(lock_fd);
}
