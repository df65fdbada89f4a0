/*
 * buf: the one growable byte buffer, always NUL-terminated, with a mandatory
 * maximum size. Appends past the maximum set a sticky overflow flag instead
 * of growing, so callers append many times and check buf_ok() once.
 */
#ifndef MT_BUF_H
#define MT_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
	char	*data;		/* NUL-terminated; NULL until the first append */
	size_t	 len;
	size_t	 cap;
	size_t	 max;		/* most bytes len may reach */
	bool	 overflow;	/* sticky: an append did not fit */
};

/* Initialises an empty buffer that may hold at most max bytes. */
void buf_init(struct buf *b, size_t max);
/* Releases the storage; the buffer is empty (and reusable) afterwards. */
void buf_free(struct buf *b);
/* Empties the buffer, keeping its storage and clearing the overflow flag. */
void buf_reset(struct buf *b);
/* Appends n bytes; returns 0, or -1 (and sets overflow) when they do not fit. */
int buf_add(struct buf *b, const void *p, size_t n);
/* Appends a NUL-terminated string; as buf_add. */
int buf_adds(struct buf *b, const char *s);
/* Appends one byte; as buf_add. */
int buf_addc(struct buf *b, char c);
/* Appends printf-style text; as buf_add. */
int buf_addf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* True while no append has overflowed. */
bool buf_ok(const struct buf *b);
/* The contents as a C string ("" when empty); borrowed. */
const char *buf_str(const struct buf *b);
/* Hands the storage to the caller (free() it) and empties the buffer. */
char *buf_take(struct buf *b);

#endif
