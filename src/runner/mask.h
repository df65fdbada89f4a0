/*
 * mask: replaces every occurrence of a run's secret values in the job's
 * output with "***" before the output becomes log lines (docs/secrets.md).
 * Each value is matched as is and in its JSON-string-escaped forms; values
 * shorter than MASK_MIN bytes are not masked. A mask_stream sits in front of
 * one stream's line splitter and holds back at most (longest pattern - 1)
 * bytes that could still be the start of a value, so a value split across
 * reads (or across what would become a long-line split) is still found.
 */
#ifndef MT_MASK_H
#define MT_MASK_H

#include <stdbool.h>
#include <stddef.h>

#define MASK_MIN	4
#define MASK_TEXT	"***"

struct mask;

/* Called with masked bytes, in order. */
typedef void (*mask_emit_fn)(void *arg, const char *p, size_t n);

/* An empty mask (free with mask_free). */
struct mask *mask_new(void);
/* Adds value[0..len) and its JSON-escaped forms (copied into guarded
 * memory); a value shorter than MASK_MIN is ignored. */
void mask_add(struct mask *m, const char *value, size_t len);
/* The number of patterns (0: nothing to mask). */
size_t mask_patterns(const struct mask *m);
/* Wipes and frees m; NULL is a no-op. */
void mask_free(struct mask *m);

/* One stream's state: bytes held back while they may start a value. */
struct mask_stream {
	const struct mask	*m;		/* borrowed; NULL passes bytes through */
	char			*hold;
	size_t			 len, cap;
	mask_emit_fn		 emit;
	void			*arg;
};

/* Initialises s in front of emit(arg, ...); m may be NULL. */
void mask_stream_init(struct mask_stream *s, const struct mask *m, mask_emit_fn emit, void *arg);
/* Feeds n bytes; emits what is decided (masked). */
void mask_stream_feed(struct mask_stream *s, const char *p, size_t n);
/* End of stream: emits what is still held (it is no full value). */
void mask_stream_finish(struct mask_stream *s);
/* Wipes and frees the held bytes (after finish, or to abandon). */
void mask_stream_free(struct mask_stream *s);

#endif
