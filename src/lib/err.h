/*
 * err: the error value every fallible function in MiniTower reports through.
 * A function returns 0 on success or -1 on failure, and fills a caller-owned
 * struct err with a code (mapped to an HTTP status in one table, http_err.c)
 * and a human-readable message (the exact text clients see).
 */
#ifndef MT_ERR_H
#define MT_ERR_H

enum err_code {
	ERR_NONE = 0,
	ERR_INVALID,		/* 400 invalid_request */
	ERR_INVALID_SLUG,	/* 400 invalid_slug */
	ERR_NO_VERSION,		/* 400 no_version */
	ERR_INVALID_ARTIFACT,	/* 400 invalid_artifact */
	ERR_TOWERFILE_MISSING,	/* 400 TOWERFILE_MISSING */
	ERR_TOWERFILE_INVALID,	/* 400 TOWERFILE_INVALID */
	ERR_UNAUTHORIZED,	/* 401 unauthorized */
	ERR_FORBIDDEN,		/* 403 forbidden */
	ERR_NOT_FOUND,		/* 404 not_found */
	ERR_METHOD,		/* 405 method_not_allowed */
	ERR_SLUG_TAKEN,		/* 409 slug_taken */
	ERR_TEAM_EXISTS,	/* 409 team_exists */
	ERR_CONFLICT,		/* 409 conflict */
	ERR_IDEMPOTENCY,	/* 409 idempotency_conflict */
	ERR_GONE,		/* 410 gone */
	ERR_TOO_LARGE,		/* 413 payload_too_large */
	ERR_TOO_MANY,		/* 429 too_many_requests */
	ERR_INTERNAL,		/* 500 internal */
	ERR_UNAVAILABLE,	/* 503 unavailable */
	ERR_IO,			/* local failure (file, network) in a tool */
};

/* The message holds 8 KiB: enough for every message of the spec with a
 * quoted value of a few KiB (towerfile.md rule 7b quotes an entry of more
 * than 1024 bytes); longer texts are cut short (vsnprintf). */
#define ERR_MSG_MAX 8192

struct err {
	enum err_code code;
	char msg[ERR_MSG_MAX];
};

/* Fills err (when not NULL) with code and a printf-style message; returns -1
 * so that `return err_set(err, ...)` is one line. */
int err_set(struct err *err, enum err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the message already in err with a printf-style text; returns -1. */
int err_prefix(struct err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Resets err to ERR_NONE with an empty message. */
void err_clear(struct err *err);

#endif
