/*
 * api_misc: health, readiness, the metrics scrape, the shared decoding
 * helpers of the handlers, and the web UI files (api.md §0.12).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "ready.h"
#include "store.h"
#include "util.h"

const struct config *api_cfg;

void
api_init(const struct config *cfg)
{
	api_cfg = cfg;
}

json_t *
api_body(struct req *rq, struct resp *rs, bool empty_ok, const char *msg)
{
	json_t *v;

	if (json_decode(buf_str(&rq->body), rq->body.len, empty_ok, &v) == -1) {
		resp_error(rs, ERR_INVALID, msg);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		resp_error(rs, ERR_INVALID, msg);
		return NULL;
	}
	return v;
}

int
api_run_id(struct req *rq, struct resp *rs, int64_t *id)
{
	if (parse_i64(rq->param, id) != 0 || *id == 0) {
		resp_error(rs, ERR_INVALID, "invalid run ID");
		return -1;
	}
	return 0;
}

void
api_health(struct req *rq, struct resp *rs)
{
	struct buf b;

	(void)rq;
	buf_init(&b, 64);
	buf_adds(&b, "{\"status\":\"ok\"}");
	resp_json(rs, 200, &b);
}

void
api_ready(struct req *rq, struct resp *rs)
{
	struct err err;

	if (ready_check(api_cfg, &err) == -1) {
		log_warn("not ready", "error=%s", err.msg);
		resp_err(rs, &err);
		rs->status = 503;	/* code internal with 503: api.md §0.5 */
		resp_header(rs, "Retry-After", "1");
		return;
	}
	api_health(rq, rs);
}

#ifdef MT_FAULTS
void
api_faults(struct req *rq, struct resp *rs)
{
	json_t *body = api_body(rq, rs, false, "invalid request body");
	const char *kind = "off";
	int64_t skip = 0, count = 1;
	json_t *all;
	long injected;
	size_t klen;
	struct err err;
	struct buf b;

	if (body == NULL)
		return;
	all = json_object_get(body, "all");
	if (json_get_str(body, "kind", &kind, &klen) == -1 || json_get_int(body, "skip", &skip) == -1 ||
	    json_get_int(body, "count", &count) == -1 || skip > 1000000 || count > 1000000 ||
	    store_fault_arm(kind, (int)skip, (int)count, json_is_true(all), &injected, &err) == -1) {
		json_decref(body);
		resp_error(rs, ERR_INVALID, "kind busy|ioerr|full|off, skip and count >= 0");
		return;
	}
	json_decref(body);
	buf_init(&b, 64);
	buf_addf(&b, "{\"injected\":%ld}", injected);
	resp_json(rs, 200, &b);
}
#endif

void
api_metrics(struct req *rq, struct resp *rs)
{
	struct metrics_gauges g;
	struct err err;

	(void)rq;
	memset(&g, 0, sizeof(g));
	if (store_metrics_gauges(&g, &err) == -1) {
		resp_error(rs, ERR_INTERNAL, "internal error");
		return;
	}
	buf_free(&rs->body);
	buf_init(&rs->body, (size_t)64 << 20);
	metrics_render(&rs->body, &g);
	store_metrics_gauges_free(&g);
	rs->status = 200;
	rs->content_type = METRICS_CONTENT_TYPE;
}

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
 * leading outside). Returns an fd or -1. */
static int
ui_open(const char *rel, int64_t *size)
{
	char path[PATH_MAX], real[PATH_MAX], root[PATH_MAX];
	struct stat st;
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
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	*size = st.st_size;
	return fd;
}

static void
ui_send(struct resp *rs, const char *rel)
{
	int64_t size;
	int fd = ui_open(rel, &size);

	if (fd == -1) {
		resp_error(rs, ERR_NOT_FOUND, "route not found");
		return;
	}
	rs->fd = fd;
	rs->fd_size = size;
	rs->status = 200;
	rs->content_type = mime_type(rel);
	if (strcmp(rel, "/index.html") == 0)
		resp_header(rs, "Cache-Control", "no-cache");
}

void
api_ui(struct req *rq, struct resp *rs)
{
	const char *accept = http_header(rq, "Accept");
	int64_t size;
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
		ui_send(rs, "/index.html");
		return;
	}
	if ((fd = ui_open(rq->path, &size)) != -1) {
		close(fd);
		ui_send(rs, rq->path);
		return;
	}
	if (accept != NULL && strstr(accept, "text/html") != NULL)
		ui_send(rs, "/index.html");
	else
		resp_error(rs, ERR_NOT_FOUND, "route not found");
}
