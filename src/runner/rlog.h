/*
 * rlog: the runner's structured log (observability.md §2.1): one JSON object
 * per line on stdout with time (local RFC 3339, nanoseconds), level, msg and
 * typed attributes in the order given. Thread-safe; INFO and above only.
 */
#ifndef MT_RLOG_H
#define MT_RLOG_H

#include <stdint.h>

enum rlog_level { RLOG_INFO, RLOG_WARN, RLOG_ERROR };

struct rlog_attr {
	const char	*key;	/* NULL ends the list */
	int		 type;	/* 1 integer, 2 string */
	int64_t		 i;
	const char	*s;
};

#define RL_I(k, v)	((struct rlog_attr){ (k), 1, (int64_t)(v), NULL })
#define RL_S(k, v)	((struct rlog_attr){ (k), 2, 0, (v) })
#define RL_END		((struct rlog_attr){ NULL, 0, 0, NULL })

/* Writes one line: msg then the attributes up to RL_END. */
void rlog_emit(enum rlog_level lvl, const char *msg, ...);

#define rlog_info(...)	rlog_emit(RLOG_INFO, __VA_ARGS__, RL_END)
#define rlog_warn(...)	rlog_emit(RLOG_WARN, __VA_ARGS__, RL_END)
#define rlog_error(...)	rlog_emit(RLOG_ERROR, __VA_ARGS__, RL_END)

/* Formats the current time as observability.md §2.1 wants into out. */
void rlog_time(char *out, size_t outsz);

#endif
