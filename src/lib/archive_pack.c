/*
 * archive_pack: the CLI's side of the archive module. It writes the
 * reproducible artifact of towerfile.md §6.5 (fixed owners, times and modes,
 * ustar with pax only where needed, gzip without name or timestamp) and
 * hashes it on the way; also the streaming SHA-256 of a file.
 */
#include <archive.h>		/* src/lib/archive.h, which includes libarchive's */
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define READ_BLOCK	65536

/* ---- packing (CLI) -------------------------------------------------------- */

/* Where the gzip bytes go: a file, hashed on the way. */
struct sink {
	int				fd;
	int64_t				bytes;
	crypto_hash_sha256_state	sha;
};

static la_ssize_t
sink_write(struct archive *a, void *cookie, const void *p, size_t n)
{
	struct sink *k = cookie;
	const char *c = p;
	size_t done = 0;

	while (done < n) {
		ssize_t w = write(k->fd, c + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			archive_set_error(a, errno, "%s", strerror(errno));
			return -1;
		}
		done += (size_t)w;
	}
	crypto_hash_sha256_update(&k->sha, p, n);
	k->bytes += (int64_t)n;
	return (la_ssize_t)n;
}

static struct archive_entry *
pack_entry_new(const char *path, int64_t mtime)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, path);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_uname(e, "root");
	archive_entry_set_gname(e, "root");
	archive_entry_set_mtime(e, (time_t)mtime, 0);
	return e;
}

static int
pack_header(struct archive *a, struct archive_entry *e, const char *path,
    struct err *err)
{
	int r = archive_write_header(a, e);

	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)	/* WARN: a non-UTF-8 name */
		return err_set(err, ERR_IO, "%s: %s", path, archive_error_string(a));
	return 0;
}

/* Streams exactly size bytes of fd into the archive. */
static int
pack_copy(struct archive *a, int fd, int64_t size, const char *path,
    struct err *err)
{
	char *blk = xmalloc(READ_BLOCK);
	int rc = -1;

	while (size > 0) {
		size_t want = size < READ_BLOCK ? (size_t)size : READ_BLOCK;
		ssize_t n = read(fd, blk, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0) {
			err_set(err, ERR_IO, "%s: file changed while packaging", path);
			goto out;
		}
		if (archive_write_data(a, blk, (size_t)n) != n) {
			err_set(err, ERR_IO, "%s: %s", path, archive_error_string(a));
			goto out;
		}
		size -= n;
	}
	rc = 0;
out:
	free(blk);
	return rc;
}

static int
pack_file(struct archive *a, const char *root, const struct glob_entry *ge,
    int64_t mtime, struct err *err)
{
	char *abs = xasprintf("%s/%s", root, ge->path);
	struct archive_entry *e = pack_entry_new(ge->path, mtime);
	int fd = open(abs, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc = -1;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) != 0) {
		err_set(err, ERR_IO, "%s: %s", abs, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(err, ERR_IO, "%s: not a regular file", abs);
		goto out;
	}
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, (st.st_mode & 0111) ? 0755 : 0644);
	archive_entry_set_size(e, st.st_size);
	if (pack_header(a, e, ge->path, err) == 0 &&
	    pack_copy(a, fd, st.st_size, abs, err) == 0)
		rc = 0;
out:
	if (fd >= 0)
		close(fd);
	archive_entry_free(e);
	free(abs);
	return rc;
}

static int
pack_symlink(struct archive *a, const struct glob_entry *ge, int64_t mtime,
    struct err *err)
{
	struct archive_entry *e = pack_entry_new(ge->path, mtime);
	int rc;

	archive_entry_set_filetype(e, AE_IFLNK);
	archive_entry_set_perm(e, 0777);
	archive_entry_set_size(e, 0);
	archive_entry_set_symlink(e, ge->link_target);
	rc = pack_header(a, e, ge->path, err);
	archive_entry_free(e);
	return rc;
}

/* The root Towerfile, from the bytes the CLI parsed; its mode follows the
 * file it was read from (0644 when that cannot be told). */
static int
pack_towerfile(struct archive *a, const char *root, const char *tf, size_t len,
    int64_t mtime, struct err *err)
{
	struct archive_entry *e = pack_entry_new("Towerfile", mtime);
	char *abs = xasprintf("%s/Towerfile", root);
	struct stat st;
	int rc = -1;

	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, stat(abs, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & 0111) ? 0755 : 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	if (pack_header(a, e, "Towerfile", err) != 0)
		goto out;
	if (len > 0 && archive_write_data(a, tf, len) != (la_ssize_t)len) {
		err_set(err, ERR_IO, "Towerfile: %s", archive_error_string(a));
		goto out;
	}
	rc = 0;
out:
	free(abs);
	archive_entry_free(e);
	return rc;
}

static struct archive *
pack_writer(struct sink *k)
{
	struct archive *a = archive_write_new();

	archive_write_add_filter_gzip(a);
	archive_write_set_format_pax_restricted(a);
	archive_write_set_filter_option(a, "gzip", "compression-level", "6");
	archive_write_set_filter_option(a, "gzip", "timestamp", NULL);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open(a, k, NULL, sink_write, NULL) != ARCHIVE_OK) {
		archive_write_free(a);
		return NULL;
	}
	return a;
}

/* Writes every entry; names are converted to UTF-8 pax records under a
 * thread-local UTF-8 locale, whatever the process locale is. */
static int
pack_entries(struct archive *a, const struct glob_result *files,
    const char *tf, size_t tflen, int64_t mtime, struct err *err)
{
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0), old = 0;
	int rc = 0;

	if (utf8 != (locale_t)0)
		old = uselocale(utf8);
	for (size_t i = 0; rc == 0 && i < files->n; i++) {
		const struct glob_entry *ge = &files->v[i];

		if (strcmp(ge->path, "Towerfile") == 0)
			rc = pack_towerfile(a, files->root, tf, tflen, mtime, err);
		else if (ge->is_symlink)
			rc = pack_symlink(a, ge, mtime, err);
		else
			rc = pack_file(a, files->root, ge, mtime, err);
	}
	if (utf8 != (locale_t)0) {
		uselocale(old);
		freelocale(utf8);
	}
	return rc;
}

int
archive_pack(const struct glob_result *files, const char *towerfile,
    size_t towerfile_len, int64_t mtime, const char *out_path,
    struct archive_pack_result *res, struct err *err)
{
	struct sink k = {.fd = -1};
	struct archive *a = NULL;
	unsigned char digest[crypto_hash_sha256_BYTES];
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (sodium_init() < 0)
		return err_set(err, ERR_IO, "libsodium initialisation failed");
	crypto_hash_sha256_init(&k.sha);
	k.fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (k.fd < 0)
		return err_set(err, ERR_IO, "%s: %s", out_path, strerror(errno));
	a = pack_writer(&k);
	if (a == NULL) {
		err_set(err, ERR_IO, "%s: cannot start the archive", out_path);
		goto out;
	}
	if (pack_entries(a, files, towerfile, towerfile_len, mtime, err) != 0)
		goto out;
	if (archive_write_close(a) != ARCHIVE_OK) {
		err_set(err, ERR_IO, "%s: %s", out_path, archive_error_string(a));
		goto out;
	}
	if (close(k.fd) != 0) {
		k.fd = -1;
		err_set(err, ERR_IO, "%s: %s", out_path, strerror(errno));
		goto out;
	}
	k.fd = -1;
	crypto_hash_sha256_final(&k.sha, digest);
	hex_encode(digest, sizeof(digest), res->sha256);
	res->bytes = k.bytes;
	rc = 0;
out:
	if (a != NULL)
		archive_write_free(a);
	if (k.fd >= 0)
		close(k.fd);
	return rc;
}

int
archive_source_date_epoch(int64_t *out, struct err *err)
{
	const char *v = getenv("SOURCE_DATE_EPOCH");

	*out = 0;
	if (v == NULL)
		return 0;
	if (*v == '\0' || strspn(v, "0123456789") != strlen(v) ||
	    parse_i64(v, out) != 0) {
		*out = 0;
		return err_set(err, ERR_INVALID, "invalid SOURCE_DATE_EPOCH");
	}
	return 0;
}

int
archive_pack_project(const char *project_dir, const char *script,
    const char *const *patterns, size_t npatterns, const char *towerfile,
    size_t towerfile_len, const char *out_path,
    struct archive_pack_result *res, struct err *err)
{
	struct glob_result files;
	int64_t mtime;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (glob_project_files(project_dir, patterns, npatterns, script, &files,
	    err) != 0)
		return -1;
	if (archive_source_date_epoch(&mtime, err) == 0)
		rc = archive_pack(&files, towerfile, towerfile_len, mtime,
		    out_path, res, err);
	glob_result_free(&files);
	return rc;
}

/* ---- digests ---------------------------------------------------------------- */

int
archive_sha256_file(const char *path, char hex[65], struct err *err)
{
	crypto_hash_sha256_state st;
	unsigned char digest[crypto_hash_sha256_BYTES];
	char *blk = NULL;
	int fd, rc = -1;
	ssize_t n;

	hex[0] = '\0';
	if (sodium_init() < 0)
		return err_set(err, ERR_IO, "libsodium initialisation failed");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
	blk = xmalloc(READ_BLOCK);
	crypto_hash_sha256_init(&st);
	while ((n = read(fd, blk, READ_BLOCK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
			goto out;
		}
		crypto_hash_sha256_update(&st, (unsigned char *)blk, (size_t)n);
	}
	crypto_hash_sha256_final(&st, digest);
	hex_encode(digest, sizeof(digest), hex);
	rc = 0;
out:
	free(blk);
	close(fd);
	return rc;
}
