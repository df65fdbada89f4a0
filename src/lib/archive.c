/*
 * archive: artifact inspection (minitowerd) and safe extraction (runner)
 * with libarchive; packing and digests live in archive_pack.c. Inspection
 * and extraction share one scanner that reads every
 * entry, enforces the size limits and the entry-safety rules of
 * towerfile.md §5.2, and keeps the names it needs for the symbolic-link
 * traversal rule, which can only be decided once the whole archive is read.
 */
#include <archive.h>		/* src/lib/archive.h, which includes libarchive's */
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quote.h"
#include "towerfile.h"
#include "util.h"

#define READ_BLOCK	65536

/* ---- small helpers ----------------------------------------------------- */

static void
limits_of(const struct archive_limits *lim, int64_t *max_entries, int64_t *max_bytes)
{
	*max_entries = lim && lim->max_entries > 0 ? lim->max_entries :
	    ARCHIVE_MAX_ENTRIES_DEFAULT;
	*max_bytes = lim && lim->max_expanded_bytes > 0 ?
	    lim->max_expanded_bytes : ARCHIVE_MAX_EXPANDED_DEFAULT;
}

/* Lexically cleaned copy of p (Go path.Clean). */
static char *
clean_dup(const char *p)
{
	size_t sz = strlen(p) + 2;
	char *out = xmalloc(sz);

	if (towerfile_clean_path(p, out, sz) != 0) {
		free(out);
		return xstrdup(".");	/* cannot happen: the output always fits */
	}
	return out;
}

/* Go path.Dir(name) joined with target, cleaned. */
static char *
join_link_dir(const char *name, const char *target)
{
	const char *slash = strrchr(name, '/');
	char *joined, *c;

	if (slash == NULL)
		joined = xstrdup(target);
	else
		joined = xasprintf("%.*s/%s", (int)(slash - name), name, target);
	c = clean_dup(joined);
	free(joined);
	return c;
}

/* True when a '/'-separated element of p is exactly "..". */
static bool
has_dotdot_elem(const char *p)
{
	for (;;) {
		size_t len = strcspn(p, "/");

		if (len == 2 && p[0] == '.' && p[1] == '.')
			return true;
		if (p[len] == '\0')
			return false;
		p += len + 1;
	}
}

/* libarchive's success: OK, or WARN (e.g. a name that is not valid in the
 * locale's charset). RETRY (a damaged header) is a failure here. */
static bool
la_ok(int r)
{
	return r == ARCHIVE_OK || r == ARCHIVE_WARN;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- the scanner -------------------------------------------------------- */

enum kind { K_REG, K_DIR, K_SYMLINK, K_HARDLINK, K_OTHER, K_DEVICE };

enum unsafe {
	UNSAFE_NONE,
	UNSAFE_ABSOLUTE,
	UNSAFE_DOTDOT,
	UNSAFE_DEVICE,
	UNSAFE_LINK_OUTSIDE,
	UNSAFE_TRAVERSES,
};

static const char *const unsafe_reason[] = {
	[UNSAFE_NONE] = "",
	[UNSAFE_ABSOLUTE] = "has an absolute path",
	[UNSAFE_DOTDOT] = "contains a \"..\" path element",
	[UNSAFE_DEVICE] = "is a device or FIFO",
	[UNSAFE_LINK_OUTSIDE] = "links outside the artifact root",
	[UNSAFE_TRAVERSES] = "traverses a symbolic link",
};

struct entry {
	char		*name;		/* as stored */
	char		*link;		/* symlink or hard-link target, or NULL */
	enum kind	 kind;
};

struct scan {
	int64_t		 max_entries, max_bytes;
	bool		 extracting;	/* runner wording for unsafe entries */
	bool		 want_towerfile;
	struct entry	*v;
	size_t		 n, cap;
	char		**links;	/* cleaned symlink names, sorted */
	size_t		 nlinks;
	char		*towerfile;
	size_t		 towerfile_len;
	int64_t		 count;		/* entries read */
	int64_t		 expanded;	/* content bytes read */
};

static void
scan_free(struct scan *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].name);
		free(s->v[i].link);
	}
	free(s->v);
	for (size_t i = 0; i < s->nlinks; i++)
		free(s->links[i]);
	free(s->links);
	free(s->towerfile);
	memset(s, 0, sizeof(*s));
}

static int
unsafe_err(const struct scan *s, const char *name, enum unsafe why, struct err *err)
{
	char *q = quote_go_str(name);

	if (s->extracting)
		err_set(err, ERR_INVALID_ARTIFACT, "unsafe archive entry %s: %s", q,
		    unsafe_reason[why]);
	else
		err_set(err, ERR_INVALID_ARTIFACT, "artifact entry %s %s", q,
		    unsafe_reason[why]);
	free(q);
	return -1;
}

static enum kind
entry_kind(struct archive_entry *e)
{
	if (archive_entry_hardlink(e) != NULL)
		return K_HARDLINK;
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		return K_REG;
	case AE_IFDIR:
		return K_DIR;
	case AE_IFLNK:
		return K_SYMLINK;
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		return K_DEVICE;
	default:
		return K_OTHER;
	}
}

/* The per-entry rules of towerfile.md §5.2, in the table's order. */
static enum unsafe
entry_check(const char *name, enum kind k, const char *link)
{
	enum unsafe why = UNSAFE_NONE;
	char *joined;

	if (name[0] == '/')
		return UNSAFE_ABSOLUTE;
	if (has_dotdot_elem(name))
		return UNSAFE_DOTDOT;
	if (k == K_DEVICE)
		return UNSAFE_DEVICE;
	if (k == K_SYMLINK) {
		if (link[0] == '/')
			return UNSAFE_LINK_OUTSIDE;
		/* cleaned, ".." can only lead; "..data" is a name inside */
		joined = join_link_dir(name, link);
		if (strcmp(joined, "..") == 0 || strncmp(joined, "../", 3) == 0)
			why = UNSAFE_LINK_OUTSIDE;
		free(joined);
	}
	if (k == K_HARDLINK && (link[0] == '/' || has_dotdot_elem(link)))
		why = UNSAFE_LINK_OUTSIDE;
	return why;
}

/* Remembers an entry for the traversal rule and the script check. */
static void
scan_record(struct scan *s, const char *name, enum kind k, const char *link)
{
	struct entry *en;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	en = &s->v[s->n++];
	en->name = xstrdup(name);
	en->link = link ? xstrdup(link) : NULL;
	en->kind = k;
}

static int
too_big(const struct scan *s, struct err *err)
{
	return err_set(err, ERR_INVALID_ARTIFACT, "artifact expands beyond %" PRId64
	    " bytes", s->max_bytes);
}

static int
count_entry(struct scan *s, struct err *err)
{
	if (s->count >= s->max_entries)
		return err_set(err, ERR_INVALID_ARTIFACT,
		    "artifact has more than %" PRId64 " entries", s->max_entries);
	s->count++;
	return 0;
}

static int
not_tar(struct err *err)
{
	return err_set(err, ERR_TOWERFILE_MISSING, "artifact is not a valid tar archive");
}

/* Reads (and counts) the current entry's content. With keep, the content
 * is stored as the Towerfile and read errors get the Towerfile wording. */
static int
scan_data(struct scan *s, struct archive *a, bool keep, struct err *err)
{
	char *blk = xmalloc(READ_BLOCK);
	struct buf tf;
	la_ssize_t n;
	int rc = -1;

	buf_init(&tf, ARCHIVE_TOWERFILE_MAX + 1);
	while ((n = archive_read_data(a, blk, READ_BLOCK)) > 0) {
		s->expanded += n;
		if (s->expanded > s->max_bytes) {
			too_big(s, err);
			goto out;
		}
		if (keep)
			buf_add(&tf, blk, (size_t)n);
	}
	if (n < 0) {
		if (keep)
			err_set(err, ERR_TOWERFILE_MISSING,
			    "reading Towerfile from archive: %s", archive_error_string(a));
		else
			not_tar(err);
		goto out;
	}
	if (keep) {
		s->towerfile_len = tf.len;
		s->towerfile = tf.len ? buf_take(&tf) : xstrdup("");
	}
	rc = 0;
out:
	buf_free(&tf);
	free(blk);
	return rc;
}

static bool
is_root_towerfile(const char *name)
{
	return strcmp(name, "Towerfile") == 0 || strcmp(name, "./Towerfile") == 0;
}

/* Handles one header: limits, safety, Towerfile, content. */
static int
scan_entry(struct scan *s, struct archive *a, struct archive_entry *e,
    struct err *err)
{
	const char *name = archive_entry_pathname(e), *link = NULL;
	enum kind k = entry_kind(e);
	enum unsafe why;
	bool keep = false;

	if (count_entry(s, err) != 0)
		return -1;
	if (name == NULL)
		name = "";
	if (k == K_HARDLINK)
		link = archive_entry_hardlink(e);
	else if (k == K_SYMLINK)
		link = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
	why = entry_check(name, k, link);
	if (why != UNSAFE_NONE)
		return unsafe_err(s, name, why, err);
	scan_record(s, name, k, link);
	if (s->want_towerfile && s->towerfile == NULL && k == K_REG &&
	    is_root_towerfile(name)) {
		if (archive_entry_size(e) > ARCHIVE_TOWERFILE_MAX)
			return err_set(err, ERR_TOWERFILE_MISSING,
			    "Towerfile exceeds maximum size of %d bytes",
			    ARCHIVE_TOWERFILE_MAX);
		keep = true;
	}
	return scan_data(s, a, keep, err);
}

/* True when walking p one element at a time reaches the name of a symlink
 * entry after an element other than the last. */
static bool
walk_hits_link(const struct scan *s, const char *p)
{
	const char *sep;

	for (sep = strchr(p, '/'); sep != NULL; sep = strchr(sep + 1, '/')) {
		char *prefix = xstrndup(p, (size_t)(sep - p)), *c = clean_dup(prefix);
		bool hit = bsearch(&c, s->links, s->nlinks, sizeof(*s->links),
		    cmp_str) != NULL;

		free(c);
		free(prefix);
		if (hit)
			return true;
	}
	return false;
}

/* The traversal rule, once every entry is known: the first offending entry
 * in archive order. */
static int
scan_traversal(struct scan *s, struct err *err)
{
	s->links = xcalloc(s->n + 1, sizeof(*s->links));
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].kind == K_SYMLINK)
			s->links[s->nlinks++] = clean_dup(s->v[i].name);
	if (s->nlinks == 0)
		return 0;
	qsort(s->links, s->nlinks, sizeof(*s->links), cmp_str);
	for (size_t i = 0; i < s->n; i++) {
		const struct entry *en = &s->v[i];
		bool hit = walk_hits_link(s, en->name);

		if (!hit && en->kind == K_SYMLINK) {
			const char *slash = strrchr(en->name, '/');
			char *j = slash ? xasprintf("%.*s/%s", (int)(slash - en->name),
			    en->name, en->link) : xstrdup(en->link);

			hit = walk_hits_link(s, j);
			free(j);
		} else if (!hit && en->kind == K_HARDLINK) {
			hit = walk_hits_link(s, en->link);
		}
		if (hit)
			return unsafe_err(s, en->name, UNSAFE_TRAVERSES, err);
	}
	return 0;
}

/* The artifact's bytes as libarchive reads them, with a copy of the first
 * ones kept to tell "not gzip" from "not tar" the way Go's gzip reader
 * does: by the gzip header alone. */
struct source {
	int		 fd;
	char		*blk;
	unsigned char	 head[4096];
	size_t		 nhead;
	bool		 eof;
};

static la_ssize_t
source_read(struct archive *a, void *cookie, const void **out)
{
	struct source *src = cookie;
	ssize_t n;

	do
		n = read(src->fd, src->blk, READ_BLOCK);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	if (n == 0)
		src->eof = true;
	if (src->nhead < sizeof(src->head)) {
		size_t k = sizeof(src->head) - src->nhead;

		if ((size_t)n < k)
			k = (size_t)n;
		memcpy(src->head + src->nhead, src->blk, k);
		src->nhead += k;
	}
	*out = src->blk;
	return n;
}

/* True when head holds a complete gzip member header (RFC 1952: magic,
 * deflate, and the optional extra, name, comment and CRC fields). A header
 * longer than the copy is taken as complete unless the stream ended. */
static bool
gzip_header_ok(const struct source *src)
{
	const unsigned char *h = src->head;
	size_t n = src->nhead, i = 10;
	unsigned flg;

	if (n < 10 || h[0] != 0x1f || h[1] != 0x8b || h[2] != 8)
		return false;
	flg = h[3];
	if ((flg & 4) && (i += 2) <= n)
		i += (size_t)h[i - 2] | (size_t)h[i - 1] << 8;
	for (unsigned bit = 8; bit <= 16; bit <<= 1) {
		if (!(flg & bit))
			continue;
		while (i < n && h[i] != 0)
			i++;
		i++;
	}
	if (flg & 2)
		i += 2;
	return i <= n || !(src->eof || n < sizeof(src->head));
}

/* Opens a reader on src: gzip filter, tar format (and the empty format, so
 * a gzip of nothing reads as an archive without entries, as Go's does). */
static struct archive *
reader_open(struct source *src, struct err *err)
{
	struct archive *a = archive_read_new();
	int r;

	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a);
	r = archive_read_open(a, src, NULL, source_read, NULL);
	if (!gzip_header_ok(src)) {
		err_set(err, ERR_TOWERFILE_MISSING, "artifact is not a valid gzip archive");
		goto fail;
	}
	/* more than gzip + none: a gzip inside the gzip, which is no tar */
	if (r != ARCHIVE_OK || archive_filter_count(a) != 2 ||
	    archive_filter_code(a, 0) != ARCHIVE_FILTER_GZIP) {
		not_tar(err);
		goto fail;
	}
	return a;
fail:
	archive_read_free(a);
	return NULL;
}

/* Reads the whole archive on fd into *s. */
static int
scan_fd(struct scan *s, int fd, struct err *err)
{
	struct source src = {.fd = fd, .blk = xmalloc(READ_BLOCK)};
	struct archive *a = reader_open(&src, err);
	struct archive_entry *e;
	int r, rc = -1;

	if (a == NULL)
		goto out;
	for (;;) {
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (!la_ok(r)) {
			not_tar(err);
			goto out;
		}
		if (scan_entry(s, a, e, err) != 0)
			goto out;
	}
	rc = scan_traversal(s, err);
out:
	if (a != NULL)
		archive_read_free(a);
	free(src.blk);
	return rc;
}

/* ---- inspection (minitowerd) ------------------------------------------- */

/* Moves the cleaned names of file, symlink and hard-link entries into info,
 * sorted and unique. */
static void
info_paths(struct scan *s, struct archive_info *info)
{
	size_t n = 0;

	info->paths = xcalloc(s->n + 1, sizeof(*info->paths));
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].kind == K_REG || s->v[i].kind == K_SYMLINK ||
		    s->v[i].kind == K_HARDLINK)
			info->paths[n++] = clean_dup(s->v[i].name);
	qsort(info->paths, n, sizeof(*info->paths), cmp_str);
	info->npaths = 0;
	for (size_t i = 0; i < n; i++) {
		if (info->npaths > 0 &&
		    strcmp(info->paths[info->npaths - 1], info->paths[i]) == 0)
			free(info->paths[i]);
		else
			info->paths[info->npaths++] = info->paths[i];
	}
}

int
archive_inspect_fd(int fd, const struct archive_limits *lim,
    struct archive_info *out, struct err *err)
{
	struct scan s = {0};
	int rc = -1;

	memset(out, 0, sizeof(*out));
	limits_of(lim, &s.max_entries, &s.max_bytes);
	s.want_towerfile = true;
	if (scan_fd(&s, fd, err) != 0)
		goto out;
	if (s.towerfile == NULL) {
		err_set(err, ERR_TOWERFILE_MISSING, "artifact does not contain a Towerfile");
		goto out;
	}
	out->towerfile = s.towerfile;
	out->towerfile_len = s.towerfile_len;
	s.towerfile = NULL;
	out->entries = s.count;
	out->expanded_bytes = s.expanded;
	info_paths(&s, out);
	rc = 0;
out:
	scan_free(&s);
	return rc;
}

int
archive_inspect(const char *path, const struct archive_limits *lim,
    struct archive_info *out, struct err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
	rc = archive_inspect_fd(fd, lim, out, err);
	close(fd);
	return rc;
}

bool
archive_info_has_script(const struct archive_info *info, const char *script)
{
	char *c = clean_dup(script);
	bool hit = bsearch(&c, info->paths, info->npaths, sizeof(*info->paths),
	    cmp_str) != NULL;

	free(c);
	return hit;
}

void
archive_info_free(struct archive_info *info)
{
	if (info == NULL)
		return;
	free(info->towerfile);
	for (size_t i = 0; i < info->npaths; i++)
		free(info->paths[i]);
	free(info->paths);
	memset(info, 0, sizeof(*info));
}

/* ---- extraction (runner) ------------------------------------------------ */

/* Copies the current entry's content from a to the disk writer w. */
static int
extract_data(struct scan *s, struct archive *a, struct archive *w,
    const char *name, struct err *err)
{
	char *blk = xmalloc(READ_BLOCK);
	la_ssize_t n;
	int rc = -1;

	while ((n = archive_read_data(a, blk, READ_BLOCK)) > 0) {
		s->expanded += n;
		if (s->expanded > s->max_bytes) {
			too_big(s, err);
			goto out;
		}
		if (archive_write_data(w, blk, (size_t)n) != n) {
			err_set(err, ERR_IO, "%s: %s", name, archive_error_string(w));
			goto out;
		}
	}
	if (n < 0) {
		not_tar(err);
		goto out;
	}
	rc = 0;
out:
	free(blk);
	return rc;
}

/* Writes one entry (checked again, so the second pass alone is safe). */
static int
extract_entry(struct scan *s, struct archive *a, struct archive *w,
    struct archive_entry *e, struct err *err)
{
	const char *name = archive_entry_pathname(e), *link = NULL;
	enum kind k = entry_kind(e);
	enum unsafe why;

	if (count_entry(s, err) != 0)
		return -1;
	if (name == NULL)
		name = "";
	if (k == K_HARDLINK)
		link = archive_entry_hardlink(e);
	else if (k == K_SYMLINK)
		link = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
	why = entry_check(name, k, link);
	if (why != UNSAFE_NONE)
		return unsafe_err(s, name, why, err);
	archive_entry_set_perm(e, archive_entry_perm(e) & 0777);
	if (!la_ok(archive_write_header(w, e)))
		return err_set(err, ERR_IO, "%s: %s", name, archive_error_string(w));
	if (extract_data(s, a, w, name, err) != 0)
		return -1;
	if (!la_ok(archive_write_finish_entry(w)))
		return err_set(err, ERR_IO, "%s: %s", name, archive_error_string(w));
	return 0;
}

/* The second pass: extracts everything into the current directory. */
static int
extract_fd(struct scan *s, int fd, struct err *err)
{
	struct source src = {.fd = fd, .blk = xmalloc(READ_BLOCK)};
	struct archive *a = reader_open(&src, err), *w = NULL;
	struct archive_entry *e;
	int r, rc = -1;

	if (a == NULL) {
		free(src.blk);
		return -1;
	}
	w = archive_write_disk_new();
	archive_write_disk_set_options(w, ARCHIVE_EXTRACT_SECURE_NODOTDOT |
	    ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS |
	    ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME);
	for (;;) {
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (!la_ok(r)) {
			not_tar(err);
			goto out;
		}
		if (extract_entry(s, a, w, e, err) != 0)
			goto out;
	}
	if (!la_ok(archive_write_close(w))) {
		err_set(err, ERR_IO, "%s", archive_error_string(w));
		goto out;
	}
	rc = 0;
out:
	archive_write_free(w);
	archive_read_free(a);
	free(src.blk);
	return rc;
}

int
archive_extract(const char *archive_path, const char *dest_dir,
    const struct archive_limits *lim, struct err *err)
{
	int fd = open(archive_path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return err_set(err, ERR_IO, "%s: %s", archive_path, strerror(errno));
	rc = archive_extract_fd(fd, archive_path, dest_dir, lim, err);
	close(fd);
	return rc;
}

int
archive_extract_fd(int fd, const char *archive_path, const char *dest_dir,
    const struct archive_limits *lim, struct err *err)
{
	struct scan s = {0};
	int cwd = -1, rc = -1;
	mode_t old_umask;

	limits_of(lim, &s.max_entries, &s.max_bytes);
	s.extracting = true;
	if (lseek(fd, 0, SEEK_SET) != 0)
		return err_set(err, ERR_IO, "%s: %s", archive_path, strerror(errno));
	if (scan_fd(&s, fd, err) != 0)
		goto out;
	scan_free(&s);		/* the second pass starts afresh */
	limits_of(lim, &s.max_entries, &s.max_bytes);
	s.extracting = true;
	if (lseek(fd, 0, SEEK_SET) != 0) {
		err_set(err, ERR_IO, "%s: %s", archive_path, strerror(errno));
		goto out;
	}
	cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || chdir(dest_dir) != 0) {
		err_set(err, ERR_IO, "%s: %s", cwd < 0 ? "." : dest_dir, strerror(errno));
		goto out;
	}
	old_umask = umask(022);
	rc = extract_fd(&s, fd, err);
	umask(old_umask);
	if (fchdir(cwd) != 0 && rc == 0)
		rc = err_set(err, ERR_IO, "returning to the previous directory: %s",
		    strerror(errno));
out:
	if (cwd >= 0)
		close(cwd);
	scan_free(&s);
	return rc;
}
