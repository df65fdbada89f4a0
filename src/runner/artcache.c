/*
 * artcache: see artcache.h. Only the runner's own threads touch the
 * directory; the job and the unpacking child get at most an open fd.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artcache.h"
#include "log.h"
#include "util.h"

#define COPY_CHUNK	65536

bool
artcache_valid_sha(const char *sha)
{
	size_t i;

	if (sha == NULL || strlen(sha) != 64)
		return false;
	for (i = 0; i < 64; i++)
		if (!((sha[i] >= '0' && sha[i] <= '9') || (sha[i] >= 'a' && sha[i] <= 'f')))
			return false;
	return true;
}

static char *
cache_dir(const struct config *cfg)
{
	return xasprintf("%s/artifacts", cfg->data_dir);
}

static char *
entry_path(const struct config *cfg, const char *sha, const char *ext)
{
	return xasprintf("%s/artifacts/%s%s", cfg->data_dir, sha, ext);
}

/* Hex SHA-256 of fd's content from offset 0; -1 on a read error. */
static int
hash_fd(int fd, char hex[65])
{
	unsigned char buf[COPY_CHUNK], dig[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	off_t off = 0;
	ssize_t n;

	crypto_hash_sha256_init(&st);
	while ((n = pread(fd, buf, sizeof(buf), off)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		crypto_hash_sha256_update(&st, buf, (size_t)n);
		off += n;
	}
	crypto_hash_sha256_final(&st, dig);
	hex_encode(dig, sizeof(dig), hex);
	return 0;
}

/* The whole (small) file at path, NUL-terminated; NULL when unreadable. */
static char *
read_small(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *s = NULL;
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < 1024 * 1024) {
		s = xcalloc(1, (size_t)st.st_size + 1);
		n = pread(fd, s, (size_t)st.st_size, 0);
		if (n != st.st_size) {
			free(s);
			s = NULL;
		}
	}
	close(fd);
	return s;
}

static void
remove_entry(const struct config *cfg, const char *sha)
{
	char *a = entry_path(cfg, sha, ".tar.gz"), *p = entry_path(cfg, sha, ".paths");

	(void)unlink(a);
	(void)unlink(p);
	free(a);
	free(p);
}

int
artcache_open(const struct config *cfg, const char *sha, char **paths)
{
	char *a, *p, hex[65];
	const char *why = NULL;
	struct stat st;
	int fd;

	*paths = NULL;
	if (!cfg->artifact_cache || !artcache_valid_sha(sha))
		return -1;
	a = entry_path(cfg, sha, ".tar.gz");
	p = entry_path(cfg, sha, ".paths");
	fd = open(a, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		goto out;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || hash_fd(fd, hex) != 0)
		why = "unreadable";
	else if (strcmp(hex, sha) != 0)
		why = "sha256 mismatch";
	else if ((*paths = read_small(p)) == NULL)
		why = "import paths missing";
	if (why != NULL) {
		log_warn("artifact cache entry corrupt", "sha256=%s error=%s", sha, why);
		if (fd >= 0)
			close(fd);
		fd = -1;
		remove_entry(cfg, sha);
		goto out;
	}
	(void)futimens(fd, NULL);	/* recently used: the last to be evicted */
out:
	free(a);
	free(p);
	return fd;
}

/* Copies src to a new file in dir and renames it to dst (mode 0400). */
static int
copy_into(const char *dir, const char *src_path, const char *data, size_t len, const char *dst)
{
	char *tmp = xasprintf("%s/.tmp-XXXXXX", dir), buf[COPY_CHUNK];
	int in = -1, out = mkstemp(tmp), rc = -1;
	ssize_t n;

	if (out < 0)
		goto done;
	if (src_path != NULL) {
		if ((in = open(src_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
			goto done;
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)n) != n)
				goto done;
		if (n < 0)
			goto done;
	} else if (len > 0 && write(out, data, len) != (ssize_t)len) {
		goto done;
	}
	if (fchmod(out, 0400) != 0 || close(out) != 0) {
		out = -1;
		goto done;
	}
	out = -1;
	rc = rename(tmp, dst);
done:
	if (rc != 0)
		(void)unlink(tmp);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	free(tmp);
	return rc;
}

struct aged {
	char	name[80];
	time_t	mtime;
};

static int
cmp_aged(const void *a, const void *b)
{
	const struct aged *x = a, *y = b;

	return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

/* Removes the least recently used entries beyond cfg->artifact_cache_max. */
static void
evict(const struct config *cfg, const char *dir)
{
	struct aged *v = NULL;
	size_t n = 0, cap = 0, i, len;
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len != 71 || strcmp(de->d_name + 64, ".tar.gz") != 0 ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (n == cap)
			v = xrealloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));
		snprintf(v[n].name, sizeof(v[n].name), "%.64s", de->d_name);
		v[n++].mtime = st.st_mtime;
	}
	closedir(d);
	if ((int64_t)n > cfg->artifact_cache_max) {
		qsort(v, n, sizeof(*v), cmp_aged);
		for (i = 0; i < n - (size_t)cfg->artifact_cache_max; i++) {
			remove_entry(cfg, v[i].name);
			log_info("artifact cache evicted", "sha256=%s", v[i].name);
		}
	}
	free(v);
}

void
artcache_store(const struct config *cfg, const char *sha, const char *src,
    const char *paths)
{
	char *dir, *a, *p;

	if (!cfg->artifact_cache || !artcache_valid_sha(sha))
		return;
	dir = cache_dir(cfg);
	a = entry_path(cfg, sha, ".tar.gz");
	p = entry_path(cfg, sha, ".paths");
	if (paths == NULL)
		paths = "";
	if ((mkdir(dir, 0700) != 0 && errno != EEXIST) ||
	    copy_into(dir, NULL, paths, strlen(paths), p) != 0 ||
	    copy_into(dir, src, NULL, 0, a) != 0)
		log_warn("artifact cache store failed", "error=%s: %s", dir, strerror(errno));
	else
		evict(cfg, dir);
	free(dir);
	free(a);
	free(p);
}
