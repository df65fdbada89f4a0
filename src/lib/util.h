/*
 * util: the small things every binary needs: allocation that cannot fail,
 * strict integer / duration / size / boolean parsing, clocks, and RFC 3339
 * timestamps with millisecond precision.
 */
#ifndef MT_UTIL_H
#define MT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Allocation that aborts on failure, so callers never check for NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "fatal: <msg>" to stderr and exits 1. Start-up only. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Parses a whole string as a base-10 int64 matching ^[+-]?[0-9]+$ (no
 * whitespace). Returns 0; -1 when malformed; -2 when well-formed but out of
 * range (then *out is clamped to INT64_MIN or INT64_MAX). */
int parse_i64(const char *s, int64_t *out);
/* As parse_i64 for a string of length n that may not be NUL-terminated
 * (an embedded NUL makes it malformed). */
int parse_i64n(const char *s, size_t n, int64_t *out);

/* Parses a Go-style duration ("300ms", "1.5s", "1h2m", "0", "-5s") into
 * milliseconds. Returns 0, or -1 with a message in err (ERR_INVALID). */
int parse_duration_ms(const char *s, int64_t *out_ms, struct err *err);

/* Parses a boolean: 1 t T TRUE true True / 0 f F FALSE false False.
 * Returns 0, or -1 with a message in err. */
int parse_bool(const char *s, bool *out, struct err *err);

/* Wall clock in Unix milliseconds / monotonic clock in milliseconds and in
 * microseconds. */
int64_t now_ms(void);
int64_t mono_ms(void);
int64_t mono_us(void);
/* The steady clock, in Unix milliseconds that never step: the wall clock
 * read once (at the first call in the process) plus the CLOCK_MONOTONIC
 * time elapsed since. It equals now_ms() until the wall clock is stepped
 * (settimeofday, a VM resume, an NTP step), and from then on differs from it
 * by the step. minitowerd uses it for everything a lease TTL measures
 * (docs/clocks.md); timestamps people read stay now_ms(). Thread-safe. */
int64_t steady_ms(void);

/* Writes ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) into out (>= 32 bytes). */
void fmt_rfc3339_ms(int64_t ms, char *out, size_t outsz);
/* Parses RFC 3339 with any offset and optional fraction into Unix ms
 * (truncated). Returns 0, or -1 when it does not parse. */
int parse_rfc3339_ms(const char *s, int64_t *out_ms);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out);

/* Trims ASCII whitespace on both ends, in place; returns s. */
char *str_trim(char *s);
/* Case-insensitive ASCII comparison. */
int ascii_casecmp(const char *a, const char *b);
int ascii_ncasecmp(const char *a, const char *b, size_t n);

/* Reads a file of at most max bytes into a new NUL-terminated string;
 * NULL when it cannot be read or is larger. */
char *slurp(const char *path, size_t max);

#endif
