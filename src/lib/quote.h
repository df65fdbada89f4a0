/*
 * quote: Go-style quoting (strconv.Quote) of values shown inside error
 * messages, as towerfile.md §2 "Quoted values in messages" specifies, plus
 * the strict UTF-8 decoder and the printable-code-point test it rests on.
 */
#ifndef MT_QUOTE_H
#define MT_QUOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Appends s[0..n) to b in double quotes: '"' and '\' backslash-escaped,
 * \a \b \f \n \r \t \v, \xNN for other bytes below 0x20, for 0x7F and for
 * each byte of invalid UTF-8, \uNNNN / \UNNNNNNNN (lowercase hex) for code
 * points that are not printable; everything else as is. s may hold NUL.
 * Returns 0, or -1 when b overflowed. */
int quote_go(struct buf *b, const char *s, size_t n);

/* The quoted form of the NUL-terminated s as a new string (caller frees). */
char *quote_go_str(const char *s);

/* Decodes one UTF-8 sequence at s[0..n) (n >= 1) the way Go does: shortest
 * form only, no surrogates, nothing above U+10FFFF. Returns its length (1-4)
 * with *cp set, or 0 when the first byte does not start a valid sequence. */
size_t quote_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* True when cp is printable as Go's unicode.IsPrint says: a letter, mark,
 * number, punctuation or symbol (Unicode 14 categories L, M, N, P, S), or
 * the ASCII space. */
bool quote_isprint(uint32_t cp);

#endif
