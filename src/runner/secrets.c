/*
 * secrets (runner): fetch, export and wipe. The response body and the
 * decoded JSON strings are wiped as soon as the values are copied into
 * guarded memory (sodium_malloc); the environment strings are wiped right
 * after the spawn. Only names ever reach the runner's own log.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "log.h"
#include "secrets.h"
#include "util.h"

struct secret {
	char	*name;
	char	*value;		/* sodium_malloc'd, NUL-terminated */
	size_t	 len;
};

struct run_secrets {
	struct secret	*v;
	size_t		 n;
};

static void
wipe(const char *p, size_t n)
{
	if (p != NULL && n > 0)
		sodium_memzero((void *)(uintptr_t)p, n);	/* jansson's own copy */
}

static void
free_all(struct run_secrets *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->v[i].name);
		sodium_free(s->v[i].value);
	}
	free(s->v);
	free(s);
}

/* Copies the {"secrets":[{"name","value"}]} body into guarded memory and
 * wipes jansson's strings. */
static int
parse(const char *body, size_t len, struct run_secrets **out, struct err *err)
{
	json_t *doc = json_loadb(body, len, 0, NULL), *arr = json_object_get(doc, "secrets"), *it;
	struct run_secrets *s = xcalloc(1, sizeof(*s));
	size_t i;

	if (!json_is_array(arr)) {
		json_decref(doc);
		free_all(s);
		return err_set(err, ERR_IO, "secrets: malformed response");
	}
	s->v = xcalloc(json_array_size(arr) + 1, sizeof(*s->v));
	json_array_foreach(arr, i, it) {
		json_t *nm = json_object_get(it, "name"), *val = json_object_get(it, "value");

		if (!json_is_string(nm) || !json_is_string(val))
			continue;
		s->v[s->n].name = xstrdup(json_string_value(nm));
		s->v[s->n].len = json_string_length(val);
		if ((s->v[s->n].value = sodium_malloc(s->v[s->n].len + 1)) == NULL)
			abort();
		memcpy(s->v[s->n].value, json_string_value(val), s->v[s->n].len + 1);
		wipe(json_string_value(val), json_string_length(val));
		s->n++;
	}
	json_decref(doc);
	*out = s;
	return 0;
}

int
secrets_fetch(struct client *http, struct runstate *rs, struct run_secrets **out,
    struct err *err)
{
	struct client_resp resp;
	struct call c = { .method = "GET", .suffix = "/secrets", .stop_at = runstate_fence_at(rs) };
	char msg[1100];
	int rc = -1;

	*out = NULL;
	client_resp_init(&resp);
	if (call_do(http, rs, &c, &resp, err) != CALL_OK) {
		err->code = ERR_IO;
	} else if (resp.status == 404) {
		rc = 0;	/* a server without secrets */
	} else if (call_is_stale(resp.status)) {
		err_set(err, ERR_GONE, "stale lease");
	} else if (resp.status != 200) {
		call_status_text(&resp, msg, sizeof(msg));
		err_set(err, ERR_UNAVAILABLE, "%s", msg);
	} else {
		rc = parse(buf_str(&resp.body), resp.body.len, out, err);
	}
	if (resp.body.data != NULL)
		sodium_memzero(resp.body.data, resp.body.cap);
	client_resp_free(&resp);
	if (rc == 0 && *out != NULL && (*out)->n == 0) {
		free_all(*out);
		*out = NULL;
	}
	return rc;
}

void
secrets_export(const struct run_secrets *s, struct jobenv *e, struct mask *m)
{
	struct buf names;
	size_t i;

	if (s == NULL)
		return;
	buf_init(&names, 1 << 16);
	for (i = 0; i < s->n; i++) {
		jobenv_set(e, s->v[i].name, s->v[i].value);
		mask_add(m, s->v[i].value, s->v[i].len);
		buf_addf(&names, i > 0 ? ",%s" : "%s", s->v[i].name);
	}
	log_info("secrets received", "names=%s", buf_str(&names));
	buf_free(&names);
}

void
secrets_spawned(struct run_secrets *s, struct jobenv *e)
{
	size_t i, j, nl;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		nl = strlen(s->v[i].name);
		for (j = 0; j < e->n; j++)
			if (strncmp(e->vars[j], s->v[i].name, nl) == 0 && e->vars[j][nl] == '=')
				sodium_memzero(e->vars[j] + nl + 1, strlen(e->vars[j] + nl + 1));
	}
	free_all(s);
}
