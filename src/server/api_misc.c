/*
 * api_misc: health, readiness, the metrics scrape and the shared decoding
 * helpers of the handlers.
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
