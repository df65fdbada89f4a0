/*
 * fuzz_archive: libFuzzer target for the artifact inspector
 * (archive_inspect_fd in src/lib/archive.c, libarchive underneath). The
 * first input byte picks the form: odd, the rest is the artifact as uploaded;
 * even, the rest is a tar that the harness gzips first, so that mutations
 * reach the tar headers and the entry rules instead of dying in the gzip
 * checksum. Limits are small (64 entries, 1 MiB). An accepted artifact must
 * obey what towerfile.md §5.2-§5.4 promises: a Towerfile within its maximum,
 * counts within the limits, paths cleaned, relative, without "..", sorted and
 * unique, each found by archive_info_has_script; a refused one leaves *out
 * empty and says why.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <zlib.h>

#include "archive.h"
#include "fuzz_util.h"
#include "towerfile.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ENTRIES	64
#define MAX_BYTES	(1 << 20)

/* Writes p[0..n) to fd from offset 0, gzipped when zip. */
static void
put(int fd, const uint8_t *p, size_t n, int zip)
{
	uLongf zlen = compressBound(n) + 64;
	Bytef *z = xmalloc(zlen);
	z_stream zs;

	FUZZ_CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
	if (zip) {
		memset(&zs, 0, sizeof(zs));
		FUZZ_CHECK(deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
		zs.next_in = (Bytef *)(uintptr_t)p;
		zs.avail_in = (uInt)n;
		zs.next_out = z;
		zs.avail_out = (uInt)zlen;
		FUZZ_CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
		zlen = zs.total_out;
		deflateEnd(&zs);
		p = z;
		n = zlen;
	}
	FUZZ_CHECK(write(fd, p, n) == (ssize_t)n);
	FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
	free(z);
}

static void
check_accepted(const struct archive_info *info)
{
	char *clean;
	size_t i;

	FUZZ_CHECK(info->towerfile != NULL && info->towerfile_len <= ARCHIVE_TOWERFILE_MAX);
	FUZZ_CHECK(info->towerfile[info->towerfile_len] == '\0');
	FUZZ_CHECK(info->entries >= 1 && info->entries <= MAX_ENTRIES);
	FUZZ_CHECK(info->expanded_bytes >= (int64_t)info->towerfile_len);
	FUZZ_CHECK(info->expanded_bytes <= MAX_BYTES);
	FUZZ_CHECK(info->npaths >= 1 && info->npaths <= (size_t)info->entries);
	FUZZ_CHECK(archive_info_has_script(info, "Towerfile"));
	for (i = 0; i < info->npaths; i++) {
		const char *p = info->paths[i];

		FUZZ_CHECK(i == 0 || strcmp(info->paths[i - 1], p) < 0);
		/* cleaned, a ".." element could only lead ("..data" is a name) */
		FUZZ_CHECK(p[0] != '/' && strcmp(p, "..") != 0 && strncmp(p, "../", 3) != 0);
		clean = xmalloc(strlen(p) + 2);
		FUZZ_CHECK(towerfile_clean_path(p, clean, strlen(p) + 2) == 0);
		FUZZ_CHECK(strcmp(clean, p) == 0);
		free(clean);
		FUZZ_CHECK(archive_info_has_script(info, p));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct archive_limits lim = { MAX_ENTRIES, MAX_BYTES };
	struct archive_info info;
	struct err err;

	if (size == 0)
		return 0;
	if (fd < 0)
		FUZZ_CHECK((fd = memfd_create("fuzz_archive", MFD_CLOEXEC)) >= 0);
	put(fd, data + 1, size - 1, !(data[0] & 1));
	if (archive_inspect_fd(fd, &lim, &info, &err) == 0) {
		check_accepted(&info);
	} else {
		FUZZ_CHECK(info.towerfile == NULL && info.paths == NULL && info.npaths == 0);
		FUZZ_CHECK(err.code == ERR_TOWERFILE_MISSING || err.code == ERR_INVALID_ARTIFACT);
		FUZZ_CHECK(err.msg[0] != '\0');
	}
	archive_info_free(&info);
	return 0;
}
