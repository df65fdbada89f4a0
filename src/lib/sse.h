/*
 * sse: Server-Sent Events. An incremental parser (event/id/data lines,
 * comments, multi-line data, CR, LF and CRLF line ends) that takes bytes in
 * chunks split anywhere, and a follower that drives it over libcurl with
 * Last-Event-ID resumption and reconnect back-off (cli.md §5).
 */
#ifndef MT_SSE_H
#define MT_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "client.h"
#include "err.h"

/* One dispatched event; every pointer is borrowed until the callback returns. */
struct sse_event {
	const char	*type;		/* "message" when no event line was given */
	const char	*data;		/* data lines joined by "\n" (NUL-terminated) */
	size_t		 data_len;
	bool		 has_id;	/* this event carried an id line */
	const char	*id;		/* the last event ID (persists across events) */
};

/* Returns 0 to go on, or a positive value to stop (the value is passed back). */
typedef int sse_event_fn(void *arg, const struct sse_event *ev);

struct sse_parser {
	sse_event_fn	*on_event;
	void		*arg;
	struct buf	 line;		/* the line being read */
	struct buf	 data;
	struct buf	 type;
	struct buf	 id;
	bool		 has_id;
	bool		 after_cr;	/* last byte was CR: a leading LF is part of it */
	bool		 first_line;	/* a BOM may start the stream */
};

/* Initialises a parser whose lines and event data may each hold max bytes. */
void sse_parser_init(struct sse_parser *p, size_t max, sse_event_fn *on_event, void *arg);
/* Releases the parser's buffers; the parser may be initialised again. */
void sse_parser_free(struct sse_parser *p);
/* Forgets a partly read event and line (for a new connection); keeps the
 * last event ID. */
void sse_parser_reset(struct sse_parser *p);
/* Feeds len bytes. Returns 0; the positive value of on_event that stopped the
 * parser (the rest of the chunk is not parsed); or -1 with err when a line or
 * an event's data exceeds the maximum. */
int sse_parser_feed(struct sse_parser *p, const char *data, size_t len, struct err *err);

/* Appends one event to out as the server sends it: "event: <type>", then
 * "id: <id>" when id >= 0, one "data: " line per line of data[0..len) (a
 * CR, LF or CRLF in data starts a new line, as the parser will read it),
 * and the blank line that dispatches it. type is non-empty and holds no CR,
 * LF or NUL (a programmer error otherwise). Returns 0, or -1 when out
 * overflowed. */
int sse_encode_event(struct buf *out, const char *type, int64_t id, const char *data,
    size_t len);

enum sse_outcome {
	SSE_STOPPED,	/* on_event returned non-zero (see stop) */
	SSE_REFUSED,	/* an HTTP error answered a (re)connection (status, message) */
	SSE_UNREACHABLE,/* the first connection failed at the transport level */
	SSE_LOST,	/* reconnection kept failing for give_up_ms (message) */
	SSE_BROKEN,	/* the stream broke the protocol (message) */
};

/* A followed stream. The caller fills the first block (zero values take the
 * defaults shown) and last_id, then calls sse_follow_run. */
struct sse_follow {
	struct client	*client;
	const char	*path;		/* e.g. "/api/v1/runs/42/logs/stream?after_seq=0" */
	const char	*bearer;
	long		 retry_first_ms;/* first reconnect wait, 2000 */
	long		 retry_max_ms;	/* 30000 */
	long		 give_up_ms;	/* 300000 of failures in a row */
	long		 idle_ms;	/* no byte for this long drops the stream, 45000 */
	size_t		 max_event;	/* 16 MiB */
	sse_event_fn	*on_event;
	void		*arg;

	char		 last_id[32];	/* sent as Last-Event-ID on reconnection */
	int		 stop;		/* SSE_STOPPED: what on_event returned */
	long		 status;	/* SSE_REFUSED: the HTTP status */
	char		 message[ERR_MSG_MAX];	/* the error of the other outcomes */
	int		 reconnects;	/* successful reconnections so far */
};

/* Sets the ID sent on the next reconnection (callable from on_event). */
void sse_follow_set_last_id(struct sse_follow *f, const char *id);
/* Connects, parses and reconnects until an outcome is reached; an event's
 * id line updates last_id before on_event sees it. Returns the outcome. */
enum sse_outcome sse_follow_run(struct sse_follow *f);

#endif
