/*
 * fuzz_routes: libFuzzer target for the router (routes_match and the
 * per-route answers of src/server/routes.c) and the query values the
 * handlers read (http_query, runs_query_int, parse_i64n). Input: a flags
 * byte (method, bootstrap token and UI configured or not), the decoded path
 * up to '\n', then query pairs "name=value" separated by '&' as MHD hands
 * them over (values may hold NUL). The router must only match a path its
 * template spells (the {param} segment substituted, at most one trailing
 * '/'), with a param that is one segment; the body limit and upload answer
 * follow the route; query integers must agree with a strtoll model.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_runs.h"
#include "config.h"
#include "fuzz_util.h"
#include "routes.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BODY	1000
#define MAX_ARTIFACT	2000

/* The template with "{...}" replaced by param. */
static char *
spell(const char *template, const char *param)
{
	const char *open = strchr(template, '{'), *close;

	if (open == NULL)
		return xstrdup(template);
	close = strchr(open, '}');
	return xasprintf("%.*s%s%s", (int)(open - template), template, param, close + 1);
}

static void
check_route(const struct req *rq)
{
	const char *label = routes_label(rq);
	size_t n = strlen(rq->path);
	char *want;

	FUZZ_CHECK(label != NULL);
	FUZZ_CHECK(routes_body_limit(rq) == (routes_is_upload(rq) ||
	    (strcmp(label, "/api/v1/apps/{app}/versions") == 0 && strcmp(rq->method, "POST") == 0) ?
	    MAX_ARTIFACT : MAX_BODY));
	FUZZ_CHECK(!routes_is_upload(rq) || strcmp(rq->method, "POST") == 0);
	(void)routes_long_work(rq);
	if (rq->route == NULL) {
		FUZZ_CHECK(strcmp(label, "other") == 0 && rq->param == NULL);
		return;
	}
	if (strcmp(label, "/ui") == 0) {
		FUZZ_CHECK(strncmp(rq->path, "/api/", 5) != 0 && strcmp(rq->path, "/api") != 0);
		return;
	}
	if (rq->sub != NULL)	/* a 404 decided after authentication */
		return;
	FUZZ_CHECK((strchr(label, '{') != NULL) == (rq->param != NULL));
	FUZZ_CHECK(rq->param == NULL || strchr(rq->param, '/') == NULL);
	want = spell(label, rq->param != NULL ? rq->param : "");
	FUZZ_CHECK(strcmp(want, rq->path) == 0 ||
	    (strlen(want) + 1 == n && strncmp(want, rq->path, n - 1) == 0 && rq->path[n - 1] == '/'));
	free(want);
}

/* runs_query_int as api.md §0.5 describes it, from strtoll. */
static int
model_int(const char *v, size_t len, int64_t *out)
{
	size_t i = len > 0 && (v[0] == '+' || v[0] == '-');
	char *copy, *end;
	long long x;

	if (len == 0)
		return 0;
	if (i == len)
		return -1;
	for (; i < len; i++)
		if (v[i] < '0' || v[i] > '9')
			return -1;
	copy = xstrndup(v, len);
	errno = 0;
	x = strtoll(copy, &end, 10);
	FUZZ_CHECK(*end == '\0');
	free(copy);
	*out = x;
	return errno == ERANGE ? -2 : 1;
}

static void
check_query(const struct req *rq)
{
	int64_t got, want;
	size_t len = 0;
	const char *v;
	int i, first, rc;

	for (i = 0; i < rq->nquery; i++) {
		const struct http_pair *q = &rq->query[i];

		got = want = 42;
		for (first = 0; strcmp(rq->query[first].name, q->name) != 0; first++)
			;
		v = http_query(rq, q->name, &len);
		FUZZ_CHECK(rq->query[first].value_len == 0 ? v == NULL : v == rq->query[first].value);
		FUZZ_CHECK(runs_query_int(rq, q->name, &got) ==
		    model_int(rq->query[first].value, rq->query[first].value_len, &want));
		FUZZ_CHECK(got == want);
		rc = model_int(q->value, q->value_len, &want);
		FUZZ_CHECK(parse_i64n(q->value, q->value_len, &got) == (rc == 0 ? -1 : rc == 1 ? 0 : rc));
		FUZZ_CHECK(rc < 1 || got == want);
	}
}

/* Splits "a=1&b=2" into rq->query as MHD would (no '=': an empty value). */
static void
add_pairs(struct req *rq, const uint8_t *p, size_t n)
{
	struct fuzz_in in = { p, n };
	const uint8_t *pair, *name;
	size_t plen, nlen;

	rq->query = xcalloc(n + 1, sizeof(*rq->query));
	while (in.n > 0 && rq->nquery < 64) {
		struct fuzz_in kv;
		struct http_pair *q = &rq->query[rq->nquery++];

		plen = fuzz_until(&in, '&', &pair);
		kv = (struct fuzz_in){ pair, plen };
		nlen = fuzz_until(&kv, '=', &name);
		q->name = xstrndup((const char *)name, strnlen((const char *)name, nlen));
		q->value = xmalloc(kv.n + 1);
		memcpy(q->value, kv.n > 0 ? kv.p : (const uint8_t *)"", kv.n);
		q->value[kv.n] = '\0';
		q->value_len = kv.n;
	}
}

static void
req_free(struct req *rq)
{
	for (int i = 0; i < rq->nquery; i++) {
		free(rq->query[i].name);
		free(rq->query[i].value);
	}
	free(rq->query);
	free(rq->path);
	free(rq->param);
	free(rq->sub);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "GET", "POST", "DELETE", "PUT" };
	static char boot[] = "boot", none[] = "", ui[] = "/nonexistent";
	struct fuzz_in in = { size > 0 ? data : (const uint8_t *)"", size };
	unsigned flags = fuzz_byte(&in);
	struct config cfg = { .max_body = MAX_BODY, .max_artifact = MAX_ARTIFACT };
	struct req rq = { .method = methods[flags & 3] };
	const uint8_t *path;
	size_t plen = fuzz_until(&in, '\n', &path);

	cfg.bootstrap_token = flags & 4 ? boot : none;
	cfg.metrics_token = none;
	cfg.ui_dir = flags & 8 ? ui : NULL;
	routes_init(&cfg);
	rq.path = xstrndup((const char *)path, strnlen((const char *)path, plen));
	add_pairs(&rq, in.p, in.n);
	routes_match(&rq);
	check_route(&rq);
	check_query(&rq);
	req_free(&rq);
	return 0;
}
