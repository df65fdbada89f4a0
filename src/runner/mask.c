/*
 * mask: a streaming multi-pattern replacer. At each position the longest
 * pattern that matches wins; when the held bytes end in what could still
 * grow into a longer match, the decision waits for more input (or the end
 * of the stream). Patterns and held bytes are wiped when freed. A table of
 * first bytes lets positions that start no pattern pass at once.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mask.h"
#include "util.h"

#ifdef MT_FAULTS
/* The leak-scan test's proof that it can fail (tests/api/test_secrets.py):
 * MT_FAULT_NO_MASK=1 in a faults build turns masking off. */
#define MASK_DISABLED() (getenv("MT_FAULT_NO_MASK") != NULL)
#else
#define MASK_DISABLED() false
#endif

struct pattern {
	char	*p;	/* sodium_malloc'd */
	size_t	 len;
};

struct mask {
	struct pattern	*pats;
	size_t		 n, cap;
	size_t		 longest;
	bool		 first[256];
};

struct mask *
mask_new(void)
{
	return xcalloc(1, sizeof(struct mask));
}

static void
add_pattern(struct mask *m, const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->pats[i].len == len && memcmp(m->pats[i].p, p, len) == 0)
			return;
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 8;
		m->pats = xrealloc(m->pats, m->cap * sizeof(*m->pats));
	}
	m->pats[m->n].p = sodium_malloc(len);
	if (m->pats[m->n].p == NULL)
		abort();
	memcpy(m->pats[m->n].p, p, len);
	m->pats[m->n].len = len;
	m->n++;
	m->first[(unsigned char)p[0]] = true;
	if (len > m->longest)
		m->longest = len;
}

/* Decodes one UTF-8 sequence at s (valid input assumed; a bad byte counts
 * as itself): the code point, *n its length. */
static uint32_t
utf8_next(const unsigned char *s, size_t left, size_t *n)
{
	uint32_t c = s[0];
	size_t k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1, i;

	if (k > left)
		k = 1;
	if (k == 1) {
		*n = 1;
		return c;
	}
	c &= 0x3F >> (k - 1);
	for (i = 1; i < k; i++)
		c = (c << 6) | (s[i] & 0x3F);
	*n = k;
	return c;
}

/* The JSON string escape of v (no quotes): '"', '\\' and control
 * characters always; every non-ASCII character too when ascii (as Python's
 * json.dumps does by default). */
static void
json_escaped(struct buf *b, const char *v, size_t len, bool ascii)
{
	const unsigned char *s = (const unsigned char *)v;
	size_t i = 0, n;

	while (i < len) {
		uint32_t c = utf8_next(s + i, len - i, &n);

		if (c == '"' || c == '\\')
			buf_addf(b, "\\%c", (char)c);
		else if (c == '\n')
			buf_adds(b, "\\n");
		else if (c == '\r')
			buf_adds(b, "\\r");
		else if (c == '\t')
			buf_adds(b, "\\t");
		else if (c == '\b')
			buf_adds(b, "\\b");
		else if (c == '\f')
			buf_adds(b, "\\f");
		else if (c < 0x20)
			buf_addf(b, "\\u%04x", (unsigned)c);
		else if (ascii && c >= 0x10000)
			buf_addf(b, "\\u%04x\\u%04x", (unsigned)(0xD800 + ((c - 0x10000) >> 10)),
			    (unsigned)(0xDC00 + ((c - 0x10000) & 0x3FF)));
		else if (ascii && c >= 0x80)
			buf_addf(b, "\\u%04x", (unsigned)c);
		else
			buf_add(b, s + i, n);
		i += n;
	}
}

void
mask_add(struct mask *m, const char *value, size_t len)
{
	struct buf b;
	int ascii;

	if (len < MASK_MIN)
		return;
	add_pattern(m, value, len);
	for (ascii = 0; ascii <= 1; ascii++) {
		buf_init(&b, 8 * len + 16);
		json_escaped(&b, value, len, ascii == 1);
		if (buf_ok(&b) && b.len > 0)
			add_pattern(m, b.data, b.len);
		if (b.data != NULL)
			sodium_memzero(b.data, b.cap);
		buf_free(&b);
	}
}

size_t
mask_patterns(const struct mask *m)
{
	return m != NULL ? m->n : 0;
}

void
mask_free(struct mask *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		sodium_free(m->pats[i].p);
	free(m->pats);
	free(m);
}

void
mask_stream_init(struct mask_stream *s, const struct mask *m, mask_emit_fn emit, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->m = m != NULL && m->n > 0 && !MASK_DISABLED() ? m : NULL;
	s->emit = emit;
	s->arg = arg;
}

/* At h[0..left): the length of the longest full match (0 none), and
 * whether a longer pattern is still possible with more input. */
static size_t
match_at(const struct mask *m, const char *h, size_t left, bool *maybe_longer)
{
	size_t best = 0, i;

	*maybe_longer = false;
	for (i = 0; i < m->n; i++) {
		const struct pattern *p = &m->pats[i];

		if (p->len <= left) {
			if (p->len > best && memcmp(h, p->p, p->len) == 0)
				best = p->len;
		} else if (memcmp(h, p->p, left) == 0) {
			*maybe_longer = true;	/* longer than any full match here */
		}
	}
	return best;
}

/* Emits the decided part of the held bytes; keeps the rest unless final. */
static void
drain(struct mask_stream *s, bool final)
{
	size_t i = 0, lit = 0, best;
	bool longer;

	while (i < s->len) {
		if (!s->m->first[(unsigned char)s->hold[i]]) {
			i++;
			continue;
		}
		best = match_at(s->m, s->hold + i, s->len - i, &longer);
		if (longer && !final)
			break;
		if (best == 0) {
			i++;
			continue;
		}
		if (i > lit)
			s->emit(s->arg, s->hold + lit, i - lit);
		s->emit(s->arg, MASK_TEXT, strlen(MASK_TEXT));
		i += best;
		lit = i;
	}
	if (i > lit)
		s->emit(s->arg, s->hold + lit, i - lit);
	sodium_memzero(s->hold, i);
	memmove(s->hold, s->hold + i, s->len - i);
	s->len -= i;
}

void
mask_stream_feed(struct mask_stream *s, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (s->m == NULL) {
		s->emit(s->arg, p, n);
		return;
	}
	if (s->len + n > s->cap) {
		size_t cap = s->len + n + 4096;
		char *h = sodium_malloc(cap);

		if (h == NULL)
			abort();
		if (s->hold != NULL) {
			memcpy(h, s->hold, s->len);
			sodium_free(s->hold);
		}
		s->hold = h;
		s->cap = cap;
	}
	memcpy(s->hold + s->len, p, n);
	s->len += n;
	drain(s, false);
}

void
mask_stream_finish(struct mask_stream *s)
{
	if (s->m != NULL && s->len > 0)
		drain(s, true);
}

void
mask_stream_free(struct mask_stream *s)
{
	if (s->hold != NULL)
		sodium_free(s->hold);
	s->hold = NULL;
	s->len = s->cap = 0;
}
