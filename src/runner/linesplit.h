/*
 * linesplit: turns the raw bytes of one output stream into log lines as
 * runner.md §5.8 says: lines end at '\n' (a trailing '\r' is dropped), bad
 * UTF-8 and NUL bytes become U+FFFD (one per maximal subpart), and a line
 * longer than 8192 bytes is emitted in pieces cut at character boundaries.
 * Memory use is constant whatever the input.
 */
#ifndef MT_LINESPLIT_H
#define MT_LINESPLIT_H

#include <stdbool.h>
#include <stddef.h>

#define LINESPLIT_MAX	8192

/* Called once per finished line or piece; line is NUL-terminated. */
typedef void (*linesplit_emit_fn)(void *arg, const char *line, size_t len);

struct linesplit {
	char		 line[LINESPLIT_MAX + 8];	/* sanitized, not yet emitted */
	size_t		 len;
	unsigned char	 part[4];	/* incomplete UTF-8 sequence */
	size_t		 npart;
	size_t		 need;		/* total length of that sequence */
	bool		 cr;		/* a '\r' waits for the next byte */
	bool		 any;		/* bytes of the current line were seen */
	linesplit_emit_fn emit;
	void		*arg;
};

/* Initialises ls; emit(arg, ...) receives the lines. */
void linesplit_init(struct linesplit *ls, linesplit_emit_fn emit, void *arg);

/* Feeds n bytes. Each byte makes at most two calls to emit. */
void linesplit_feed(struct linesplit *ls, const char *p, size_t n);

/* End of stream: emits the final line when one was started. */
void linesplit_finish(struct linesplit *ls);

#endif
