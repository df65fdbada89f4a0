/*
 * fuzz_linesplit: libFuzzer target for the runner's log-line splitter
 * (src/runner/linesplit.c). Input: a chunking seed byte, a repeat byte
 * (the rest is fed 1-8 times, to reach the 8192-byte cut cheaply), then the
 * stream. The stream is fed in pseudo-random chunks and must give exactly the
 * lines of an independent model of runner.md §5.8: split at '\n', one
 * trailing '\r' dropped, ill-formed UTF-8 and NUL replaced by U+FFFD per
 * maximal subpart; each line is emitted as pieces of at most 8192 bytes, cut
 * at character boundaries, that concatenate to the model's line. Every
 * piece is valid UTF-8 without NUL or '\n'.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "linesplit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct pieces {
	char	**v;
	size_t	 *len;
	size_t	  n, cap;
};

static void
collect(void *arg, const char *line, size_t len)
{
	struct pieces *p = arg;

	FUZZ_CHECK(line[len] == '\0' && len <= LINESPLIT_MAX);
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->v = realloc(p->v, p->cap * sizeof(*p->v));
		p->len = realloc(p->len, p->cap * sizeof(*p->len));
	}
	p->v[p->n] = malloc(len + 1);
	memcpy(p->v[p->n], line, len + 1);
	p->len[p->n++] = len;
}

static void
pieces_free(struct pieces *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	free(p->len);
}

/* ---- the model ---- */

/* Length of the well-formed sequence at s[0..n), or 0 with *bad set to the
 * length of its maximal subpart (Unicode Table 3-7). */
static size_t
model_char(const unsigned char *s, size_t n, size_t *bad)
{
	static const struct { unsigned char lo, hi, lo1, hi1; size_t len; } t[] = {
		{ 0xC2, 0xDF, 0x80, 0xBF, 2 }, { 0xE0, 0xE0, 0xA0, 0xBF, 3 },
		{ 0xE1, 0xEC, 0x80, 0xBF, 3 }, { 0xED, 0xED, 0x80, 0x9F, 3 },
		{ 0xEE, 0xEF, 0x80, 0xBF, 3 }, { 0xF0, 0xF0, 0x90, 0xBF, 4 },
		{ 0xF1, 0xF3, 0x80, 0xBF, 4 }, { 0xF4, 0xF4, 0x80, 0x8F, 4 },
	};
	size_t k, i;

	*bad = 1;
	if (s[0] != 0 && s[0] < 0x80)
		return 1;
	for (k = 0; k < sizeof(t) / sizeof(t[0]); k++)
		if (s[0] >= t[k].lo && s[0] <= t[k].hi)
			break;
	if (k == sizeof(t) / sizeof(t[0]))
		return 0;
	for (i = 1; i < t[k].len; i++) {
		unsigned char lo = i == 1 ? t[k].lo1 : 0x80, hi = i == 1 ? t[k].hi1 : 0xBF;

		if (i >= n || s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
	}
	return t[k].len;
}

/* The sanitized line of raw s[0..n) (terminator and its '\r' removed). */
static char *
model_line(const unsigned char *s, size_t n, size_t *outlen)
{
	char *out = malloc(3 * n + 1);
	size_t i = 0, o = 0, len, bad;

	while (i < n) {
		len = model_char(s + i, n - i, &bad);
		if (len > 0) {
			memcpy(out + o, s + i, len);
			o += len;
			i += len;
		} else {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i += bad;
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* Consumes the pieces of one model line starting at *at. */
static void
match_line(const struct pieces *p, size_t *at, const char *line, size_t len)
{
	size_t got = 0;

	do {
		FUZZ_CHECK(*at < p->n);
		FUZZ_CHECK(p->len[*at] > 0 || len == 0);
		FUZZ_CHECK(got + p->len[*at] <= len);
		FUZZ_CHECK(memcmp(p->v[*at], line + got, p->len[*at]) == 0);
		/* a piece is cut only when the line outgrew the cap */
		FUZZ_CHECK(got + p->len[*at] == len || p->len[*at] > LINESPLIT_MAX - 4);
		got += p->len[(*at)++];
	} while (got < len);
}

static void
check_model(const struct pieces *p, const unsigned char *s, size_t n)
{
	size_t start = 0, at = 0, end, raw, len;
	char *line;

	while (start < n) {
		const unsigned char *nl = memchr(s + start, '\n', n - start);

		end = nl != NULL ? (size_t)(nl - s) : n;
		raw = end - start;
		if (raw > 0 && s[end - 1] == '\r')
			raw--;
		line = model_line(s + start, raw, &len);
		match_line(p, &at, line, len);
		free(line);
		start = end + 1;
	}
	FUZZ_CHECK(at == p->n);
}

/* ---- the target ---- */

static void
feed(struct pieces *p, const unsigned char *s, size_t n, unsigned seed)
{
	struct linesplit *ls = malloc(sizeof(*ls));
	uint32_t x = seed * 2654435761u + 1;
	size_t i = 0, k;

	linesplit_init(ls, collect, p);
	while (i < n) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		k = seed == 0 ? n - i : 1 + x % (seed % 4 == 0 ? 3 : 1 + (seed * 97) % 9000);
		if (k > n - i)
			k = n - i;
		linesplit_feed(ls, (const char *)s + i, k);
		i += k;
	}
	linesplit_finish(ls);
	free(ls);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { size > 0 ? data : (const uint8_t *)"", size };
	unsigned seed = fuzz_byte(&in), reps = 1 + fuzz_byte(&in) % 8, r;
	struct pieces whole = { 0 }, chunked = { 0 };
	unsigned char *s = malloc(in.n * reps + 1);
	size_t n = in.n * reps, i;

	for (r = 0; r < reps; r++)
		if (in.n > 0)
			memcpy(s + r * in.n, in.p, in.n);
	feed(&whole, s, n, 0);
	feed(&chunked, s, n, seed);
	FUZZ_CHECK(whole.n == chunked.n);
	for (i = 0; i < whole.n; i++)
		FUZZ_CHECK(whole.len[i] == chunked.len[i] &&
		    memcmp(whole.v[i], chunked.v[i], whole.len[i]) == 0);
	check_model(&chunked, s, n);
	pieces_free(&whole);
	pieces_free(&chunked);
	free(s);
	return 0;
}
