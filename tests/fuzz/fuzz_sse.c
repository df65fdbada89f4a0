/*
 * fuzz_sse: libFuzzer target for the SSE encoder (sse_encode_event, which
 * minitowerd's log stream writes with) against the SSE parser (sse.c),
 * both directions of src/lib/sse.c. Input: a chunking seed, an id byte, the
 * event type up to a NUL, then the data. Two events are encoded (the fuzzed
 * one and a fixed sentinel) and parsed back from pseudo-random chunks: there
 * must be exactly two, the first with the type, id and data given (CR and
 * CRLF in data read back as LF, the spec's only loss), the second intact, so
 * no byte of data can inject a field or an event. When the data is valid
 * UTF-8 it is also sent as a log line the way the stream does (encode_log,
 * json_encode, one data line): the event's JSON must decode to the entry.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "encode.h"
#include "fuzz_util.h"
#include "sse.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SENTINEL "sentinel: data"

struct got {
	int	 n;
	char	*type[2], *data[2], *id[2];
	size_t	 data_len[2];
	bool	 has_id[2];
};

static int
on_event(void *arg, const struct sse_event *ev)
{
	struct got *g = arg;

	FUZZ_CHECK(g->n < 2);
	g->type[g->n] = xstrdup(ev->type);
	g->data[g->n] = xmalloc(ev->data_len + 1);
	memcpy(g->data[g->n], ev->data, ev->data_len + 1);
	g->data_len[g->n] = ev->data_len;
	g->has_id[g->n] = ev->has_id;
	g->id[g->n] = xstrdup(ev->id);
	g->n++;
	return 0;
}

static void
got_free(struct got *g)
{
	for (int i = 0; i < g->n; i++) {
		free(g->type[i]);
		free(g->data[i]);
		free(g->id[i]);
	}
}

/* Parses stream[0..n) in chunks chosen by seed into g. */
static void
parse(const struct buf *stream, unsigned seed, struct got *g)
{
	struct sse_parser p;
	struct err err;
	size_t i = 0, k;

	sse_parser_init(&p, 1 << 20, on_event, g);
	while (i < stream->len) {
		k = seed == 0 ? stream->len : 1 + (i * 31 + seed) % (1 + seed % 17);
		if (k > stream->len - i)
			k = stream->len - i;
		FUZZ_CHECK(sse_parser_feed(&p, stream->data + i, k, &err) == 0);
		i += k;
	}
	sse_parser_free(&p);
}

/* data with CRLF and CR turned into LF, as a parser reads it back. */
static char *
normalized(const char *d, size_t n, size_t *len)
{
	char *out = xmalloc(n + 1);
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (d[i] == '\r' && i + 1 < n && d[i + 1] == '\n')
			continue;
		out[o++] = d[i] == '\r' ? '\n' : d[i];
	}
	out[o] = '\0';
	*len = o;
	return out;
}

static void
check_generic(unsigned seed, int64_t id, const char *type, const char *d, size_t n)
{
	struct buf stream;
	struct got g = { 0 };
	char idtext[24], *want;
	size_t wlen;

	buf_init(&stream, 1 << 22);
	FUZZ_CHECK(sse_encode_event(&stream, type, id, d, n) == 0);
	FUZZ_CHECK(sse_encode_event(&stream, "end", -1, SENTINEL, strlen(SENTINEL)) == 0);
	parse(&stream, seed, &g);
	FUZZ_CHECK(g.n == 2);
	want = normalized(d, n, &wlen);
	snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
	FUZZ_CHECK(strcmp(g.type[0], type) == 0);
	FUZZ_CHECK(g.has_id[0] == (id >= 0) && (id < 0 || strcmp(g.id[0], idtext) == 0));
	FUZZ_CHECK(g.data_len[0] == wlen && memcmp(g.data[0], want, wlen) == 0);
	FUZZ_CHECK(strcmp(g.type[1], "end") == 0 && !g.has_id[1]);
	FUZZ_CHECK(strcmp(g.data[1], SENTINEL) == 0);
	free(want);
	got_free(&g);
	buf_free(&stream);
}

/* A log event as stream.c builds it; logged_at stays within the years
 * 0000-9999 that parse_rfc3339_ms can produce. */
static void
check_log(unsigned seed, int64_t seq, const char *line, size_t n)
{
	struct log_entry e = { .id = 1, .seq = seq, .stream = "stdout",
	    .line = (char *)(uintptr_t)line, .line_len = n };
	json_t *v, *back = NULL;
	struct buf stream, json;
	struct got g = { 0 };
	int64_t at;

	e.logged_at = -62167219200000LL + (seq * 7919) % 315537897600000LL;
	v = encode_log(&e);
	FUZZ_CHECK(parse_rfc3339_ms(json_string_value(json_object_get(v, "logged_at")), &at) == 0);
	FUZZ_CHECK(at == e.logged_at);
	buf_init(&json, 1 << 22);
	buf_init(&stream, 1 << 22);
	FUZZ_CHECK(json_encode(&json, v, NULL, false) == 0);
	FUZZ_CHECK(memchr(json.data, '\n', json.len) == NULL && memchr(json.data, '\r', json.len) == NULL);
	FUZZ_CHECK(sse_encode_event(&stream, "log", seq, buf_str(&json), json.len) == 0);
	parse(&stream, seed, &g);
	FUZZ_CHECK(g.n == 1 && strcmp(g.type[0], "log") == 0);
	FUZZ_CHECK(json_decode(g.data[0], g.data_len[0], false, &back) == 0);
	FUZZ_CHECK(json_equal(back, v));
	json_decref(back);
	json_decref(v);
	got_free(&g);
	buf_free(&json);
	buf_free(&stream);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { size > 0 ? data : (const uint8_t *)"", size };
	unsigned seed = fuzz_byte(&in), idb = fuzz_byte(&in);
	int64_t id = idb == 0 ? -1 : (int64_t)idb * 2654435761LL;
	const uint8_t *t;
	size_t tlen = fuzz_until(&in, 0, &t);
	char type[201];
	json_t *s;

	/* a type is a constant of the server: short, one line */
	if (tlen == 0 || tlen > 200 || memchr(t, '\n', tlen) != NULL || memchr(t, '\r', tlen) != NULL)
		snprintf(type, sizeof(type), "log");
	else
		snprintf(type, sizeof(type), "%.*s", (int)tlen, (const char *)t);
	check_generic(seed, id, type, (const char *)in.p, in.n);
	/* the store holds only lines the request decoder accepted: UTF-8 */
	s = json_stringn((const char *)in.p, in.n);
	if (s != NULL)
		check_log(seed, id < 0 ? 0 : id, (const char *)in.p, in.n);
	json_decref(s);
	return 0;
}
