/*
 * api_ui: the web UI's files (api.md §0.12, docs/ui.md "Serving"). The build
 * writes .br and .gz siblings next to each text asset; a request is answered
 * with the smallest representation its Accept-Encoding allows (Vary says
 * so). The content-hashed files under /assets/ are cached for a year
 * (immutable); everything else, index.html first, is revalidated by its
 * ETag (If-None-Match → 304).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "util.h"

#define ASSET_CACHE "public, max-age=31536000, immutable"

/* One stored representation of a file: which coding, its fd and stat. */
struct ui_file {
	int		 fd;
	struct stat	 st;
	const char	*coding;	/* "br", "gzip" or NULL for identity */
	bool		 has_siblings;	/* a .br or .gz exists: Vary */
};

static const char *
mime_type(const char *path)
{
	static const struct { const char *ext, *type; } types[] = {
		{ ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" }, { ".json", "application/json" },
		{ ".svg", "image/svg+xml" }, { ".png", "image/png" }, { ".ico", "image/x-icon" },
		{ ".woff2", "font/woff2" }, { ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(path, '.');
	size_t i;

	for (i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* Opens dir/rel when it is a regular file inside dir (no "..", no link
 * leading outside). Returns an fd (st filled) or -1. */
static int
ui_open(const char *rel, struct stat *st)
{
	char path[PATH_MAX], real[PATH_MAX], root[PATH_MAX];
	int fd;

	if (strstr(rel, "/../") != NULL || strcmp(rel, "/..") == 0 ||
	    (strlen(rel) >= 3 && strcmp(rel + strlen(rel) - 3, "/..") == 0))
		return -1;
	if (snprintf(path, sizeof(path), "%s%s", api_cfg->ui_dir, rel) >= (int)sizeof(path))
		return -1;
	if (realpath(api_cfg->ui_dir, root) == NULL || realpath(path, real) == NULL)
		return -1;
	if (strncmp(real, root, strlen(root)) != 0 || real[strlen(root)] != '/')
		return -1;
	if ((fd = open(real, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The q-value of one Accept-Encoding member's parameters (";q=0.5");
 * 1 when there is none, 0 for a malformed one. */
static double
ae_quality(const char *params, size_t len)
{
	char tmp[32];
	const char *q;
	char *end;
	double v;

	if (len >= sizeof(tmp))
		return 0;
	memcpy(tmp, params, len);
	tmp[len] = '\0';
	if ((q = strstr(tmp, "q=")) == NULL && (q = strstr(tmp, "Q=")) == NULL)
		return 1;
	v = strtod(q + 2, &end);
	return end == q + 2 || v < 0 || v > 1 ? 0 : v;
}

/* True when the Accept-Encoding value ae allows coding (RFC 9110 §12.5.3):
 * named with q > 0, or covered by "*" with q > 0 and not named with q=0. */
static bool
ae_accepts(const char *ae, const char *coding)
{
	double star = 0;
	size_t n, t;

	while (ae != NULL && *ae != '\0') {
		ae += strspn(ae, " \t,");
		n = strcspn(ae, ",");
		t = strcspn(ae, " \t;,");
		if (t > 0 && t <= n) {
			double q = ae_quality(ae + t, n - t);

			if (strlen(coding) == t && strncasecmp(ae, coding, t) == 0)
				return q > 0;
			if (t == 1 && ae[0] == '*')
				star = q;
		}
		ae += n;
	}
	return star > 0;
}

/* Chooses the representation of rel for Accept-Encoding ae: br, then gzip,
 * then identity. Returns 0 (f filled) or -1 when rel is not a file. */
static int
ui_choose(const char *rel, const char *ae, struct ui_file *f)
{
	static const struct { const char *suffix, *coding; } alt[] = {
		{ ".br", "br" }, { ".gz", "gzip" },
	};
	char path[PATH_MAX];
	struct stat st;
	size_t i;
	int fd;

	if ((f->fd = ui_open(rel, &f->st)) == -1)
		return -1;
	f->coding = NULL;
	f->has_siblings = false;
	for (i = 0; i < sizeof(alt) / sizeof(alt[0]); i++) {
		if (snprintf(path, sizeof(path), "%s%s", rel, alt[i].suffix) >= (int)sizeof(path) ||
		    (fd = ui_open(path, &st)) == -1)
			continue;
		f->has_siblings = true;
		if (f->coding != NULL || !ae_accepts(ae, alt[i].coding)) {
			close(fd);
			continue;
		}
		close(f->fd);
		f->fd = fd;
		f->st = st;
		f->coding = alt[i].coding;
	}
	return 0;
}

/* True when If-None-Match (a list of entity tags, or "*") names etag; the
 * comparison is weak (RFC 9110 §13.1.2). */
static bool
inm_matches(const char *inm, const char *etag)
{
	size_t n, elen = strlen(etag);

	while (inm != NULL && *inm != '\0') {
		inm += strspn(inm, " \t,");
		if (strncmp(inm, "W/", 2) == 0)
			inm += 2;
		if (*inm == '*')
			return true;
		n = strcspn(inm, " \t,");
		if (n == elen && memcmp(inm, etag, n) == 0)
			return true;
		inm += n;
	}
	return false;
}

static void
ui_send(struct req *rq, struct resp *rs, const char *rel)
{
	const char *ae = http_header(rq, "Accept-Encoding");
	char etag[96];
	struct ui_file f;

	if (ui_choose(rel, ae, &f) == -1) {
		resp_error(rs, ERR_NOT_FOUND, "route not found");
		return;
	}
	snprintf(etag, sizeof(etag), "\"%llx-%llx%s%s\"", (unsigned long long)f.st.st_size,
	    (unsigned long long)f.st.st_mtim.tv_sec * 1000000000ULL + (unsigned long long)f.st.st_mtim.tv_nsec,
	    f.coding != NULL ? "-" : "", f.coding != NULL ? f.coding : "");
	resp_header(rs, "Cache-Control", strncmp(rel, "/assets/", 8) == 0 ? ASSET_CACHE : "no-cache");
	resp_header(rs, "ETag", etag);
	if (f.has_siblings)
		resp_header(rs, "Vary", "Accept-Encoding");
	if (inm_matches(http_header(rq, "If-None-Match"), etag)) {
		close(f.fd);
		resp_empty(rs, 304);
		return;
	}
	if (f.coding != NULL)
		resp_header(rs, "Content-Encoding", f.coding);
	rs->fd = f.fd;
	rs->fd_size = f.st.st_size;
	rs->status = 200;
	rs->content_type = mime_type(rel);
}

void
api_ui(struct req *rq, struct resp *rs)
{
	const char *accept = http_header(rq, "Accept");
	struct stat st;
	int fd;

	if (api_cfg->ui_dir == NULL) {
		resp_error(rs, ERR_NOT_FOUND, strcmp(rq->path, "/") == 0 ?
		    "web UI not available: set MINITOWER_UI_DIR to the built UI" : "route not found");
		return;
	}
	if (strcmp(rq->method, "GET") != 0) {
		resp_error(rs, ERR_NOT_FOUND, "route not found");
		return;
	}
	if (strcmp(rq->path, "/") == 0) {
		ui_send(rq, rs, "/index.html");
		return;
	}
	if ((fd = ui_open(rq->path, &st)) != -1) {
		close(fd);
		ui_send(rq, rs, rq->path);
		return;
	}
	if (accept != NULL && strstr(accept, "text/html") != NULL)
		ui_send(rq, rs, "/index.html");
	else
		resp_error(rs, ERR_NOT_FOUND, "route not found");
}
