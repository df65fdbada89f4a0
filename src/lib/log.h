/*
 * log: structured JSON-lines logging to stdout (observability.md §2.1), shared
 * by minitowerd and minitower-runner:
 * {"time":...,"level":...,"msg":...,<attributes in call order>}. Attributes
 * are given as a format of key/type pairs so the call site stays one line:
 *   log_info("run leased", "run_id=%d app=%s", id, slug);
 * Types: %d int64, %s string, %f double (3 fractional digits), %b bool.
 */
#ifndef MT_LOG_H
#define MT_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_INFO, LOG_WARN, LOG_ERROR };

/* Writes one line atomically (one write(2), serialised between threads).
 * fields is "k1=%d k2=%s ..." or NULL; the variadic values follow it (%d
 * takes int64_t: cast other integer types). A line that would exceed 64 KiB
 * is written without its attributes. */
void log_write(enum log_level lvl, const char *msg, const char *fields, ...);
#define log_info(msg, ...)  log_write(LOG_INFO, (msg), __VA_ARGS__)
#define log_warn(msg, ...)  log_write(LOG_WARN, (msg), __VA_ARGS__)
#define log_error(msg, ...) log_write(LOG_ERROR, (msg), __VA_ARGS__)
/* Turns logging off (tests of library code) or on. */
void log_set_enabled(bool on);

#endif
