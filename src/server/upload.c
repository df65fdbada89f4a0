/*
 * upload: keeps the artifact part of a multipart form. The first part named
 * "artifact" with a file name goes into <objects>/.upload-<random>.tmp while
 * its SHA-256 is computed on the way; other fields and later artifact parts
 * are dropped. Size limits are the caller's: http.c counts body bytes before
 * anything reaches the post processor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "upload.h"
#include "util.h"

void
upload_init(struct upload *u, const char *dir)
{
	memset(u, 0, sizeof(*u));
	u->dir = dir;
	u->fd = -1;
}

/* Notes a failure to write the temp file, keeping the first errno (a full
 * disk answers 503, anything else 500). */
static void
failed(struct upload *u)
{
	if (!u->io_error)
		u->io_errno = errno;
	u->io_error = true;
}

static void
begin(struct upload *u)
{
	char name[64], path[4096];

	u->started = true;
	crypto_random_hex16(name);
	snprintf(path, sizeof(path), "%s/.upload-%s.tmp", u->dir, name);
	u->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (u->fd < 0) {
		failed(u);
		return;
	}
	u->path = xstrdup(path);
	crypto_hash_sha256_init(&u->sha);
}

static void
append(struct upload *u, const char *data, size_t size)
{
	size_t done = 0;

	crypto_hash_sha256_update(&u->sha, (const unsigned char *)data, size);
	while (done < size) {
		ssize_t w = write(u->fd, data + done, size - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			failed(u);
			return;
		}
		done += (size_t)w;
	}
}

void
upload_part(struct upload *u, const char *key, const char *filename,
    const char *data, uint64_t off, size_t size)
{
	if (key == NULL || strcmp(key, "artifact") != 0 || filename == NULL || filename[0] == '\0')
		return;
	if (off == 0 && !u->started)
		begin(u);
	else if (off == 0 || u->ignoring) {
		u->ignoring = true;	/* a later artifact part */
		return;
	}
	if (u->fd >= 0 && size > 0)
		append(u, data, size);
}

char *
upload_finish(struct upload *u)
{
	unsigned char d[crypto_hash_sha256_BYTES];
	char *path;

	if (u->fd >= 0) {
		crypto_hash_sha256_final(&u->sha, d);
		hex_encode(d, sizeof(d), u->sha256);
		if (close(u->fd) != 0)
			failed(u);
		u->fd = -1;
	}
	path = u->path;
	u->path = NULL;
	return path;
}

void
upload_free(struct upload *u)
{
	if (u->fd >= 0) {
		close(u->fd);
		u->fd = -1;
	}
	if (u->path != NULL) {
		unlink(u->path);
		free(u->path);
		u->path = NULL;
	}
}
