/*
 * secrets: the envelope encryption of team secrets (docs/secrets.md). The
 * master key comes from MINITOWER_SECRETS_KEY_FILE and lives only in
 * sodium_malloc'd (guarded, mlock'd) memory; each team has a random data key
 * sealed with it; values are sealed with the team's data key and bound to
 * (team, name, scope) as associated data. secrets.c is the cryptography and
 * the key file; secrets_ops.c joins it to the store (put, delivery,
 * rotation).
 */
#ifndef MT_SECRETS_H
#define MT_SECRETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define SECRETS_KEY_BYTES	32
#define SECRETS_VALUE_MAX	65536
#define SECRETS_NAME_MAX	128
#define SECRETS_MASK_MIN	4	/* shorter values are not masked in logs */

/* A key in guarded memory (free with secrets_key_free; NULL is a no-op). */
struct secrets_key {
	unsigned char	*k;	/* SECRETS_KEY_BYTES, sodium_malloc'd */
};

/* The scope a value is bound to (associated data). */
struct secrets_scope {
	int64_t		 team_id;
	const char	*name;
	int64_t		 app_id;	/* 0: every app of the team */
	const char	*environment;	/* NULL: every environment */
};

/* Reads a key file: base64 of exactly 32 bytes (surrounding white space
 * allowed), mode without any group or other bits. Returns a new key, or
 * NULL with err (ERR_INVALID for mode and format, ERR_IO when unreadable). */
struct secrets_key *secrets_key_read(const char *path, struct err *err);
/* A new random key (guarded memory). */
struct secrets_key *secrets_key_random(void);
/* Wipes and frees k. */
void secrets_key_free(struct secrets_key *k);

/* Loads the master key from path (NULL or "": secrets stay unconfigured,
 * returns 0). -1 with err when the file is set but unusable. Call before
 * threads start, or under the reload lock (secrets_reload). */
int secrets_init(const char *path, struct err *err);
/* Re-reads the master key file given to secrets_init (SIGHUP); on failure
 * the old key stays. 0 or -1 with err. */
int secrets_reload(struct err *err);
/* True when a master key is loaded. */
bool secrets_configured(void);
/* Frees the master key (shutdown). */
void secrets_shutdown(void);

/* A sealed value: base64 (standard, padded) of a random nonce and of the
 * ciphertext with its tag. */
struct secrets_sealed {
	char	*nonce;
	char	*ct;
};

/* Seals plain[0..len) with key and ad into out (clear it with
 * secrets_sealed_clear). */
void secrets_seal(const struct secrets_key *key, const void *plain, size_t len,
    const void *ad, size_t adlen, struct secrets_sealed *out);
void secrets_sealed_clear(struct secrets_sealed *s);
/* Opens what secrets_seal produced. Returns 0 with *plain (sodium_malloc'd,
 * NUL-terminated, free with secrets_plain_free) and *len, or -1 with err
 * ERR_INTERNAL "secret cannot be opened" for a wrong key, wrong ad, bad
 * base64 or a truncated/altered ciphertext. */
int secrets_open(const struct secrets_key *key, const struct secrets_sealed *s, const void *ad,
    size_t adlen, unsigned char **plain, size_t *len, struct err *err);
/* Wipes and frees a value from secrets_open (NULL is a no-op). */
void secrets_plain_free(unsigned char *plain, size_t len);

/* The associated data of a value in scope s, into b (cleared first). */
void secrets_value_ad(struct buf *b, const struct secrets_scope *s);
/* Seals a team data key with master key mk for team_id. */
void secrets_team_key_seal(const struct secrets_key *mk, int64_t team_id,
    const struct secrets_key *dk, struct secrets_sealed *out);
/* Opens a sealed team data key; a new key or NULL with err. */
struct secrets_key *secrets_team_key_open(const struct secrets_key *mk, int64_t team_id,
    const struct secrets_sealed *sealed, struct err *err);
/* Opens a sealed team data key with the loaded master key; when that fails,
 * re-reads the key file once and adopts its key if it opens (an online
 * rotate-key without SIGHUP). NULL with err: ERR_UNAVAILABLE "secrets are not
 * configured" without a key, ERR_UNAVAILABLE when no key opens it. */
struct secrets_key *secrets_team_key(int64_t team_id, const struct secrets_sealed *sealed,
    struct err *err);
/* A new random data key for team_id sealed with the loaded master key into
 * out: 0, or -1 with ERR_UNAVAILABLE. */
int secrets_team_key_new(int64_t team_id, struct secrets_sealed *out, struct err *err);

/* 0 when name is a valid secret name that is not reserved, else -1 with
 * ERR_INVALID and the reason. */
int secrets_name_check(const char *name, size_t len, struct err *err);

/* ---- secrets_ops.c: the store joined to the keys ---- */

/* What a PUT writes. */
struct secrets_put {
	struct secrets_scope	 scope;
	const char		*app_slug;	/* for messages; NULL when team-wide */
	int64_t			 token_id;	/* updated_by */
	const char		*value;
	size_t			 len;
};

/* Seals and stores a value (creating the team's data key when it has none).
 * *created tells 201 from 200; *version is the new version. Errors:
 * ERR_UNAVAILABLE without a master key, store errors. */
int secrets_put(const struct secrets_put *in, bool *created, int64_t *version, struct err *err);

/* One delivered secret (plain text in guarded memory). */
struct secrets_plain {
	char		 name[SECRETS_NAME_MAX + 1];
	unsigned char	*value;
	size_t		 len;
};

/* The secrets of run_id for its current attempt (the lease fence of
 * store_secrets_for_run), opened, one per name after precedence. Returns 0
 * with *out (free with secrets_plain_list_free), *n, and the attempt's
 * number, team and app in the out parameters; -1 with err (ERR_GONE,
 * ERR_UNAVAILABLE, ERR_INTERNAL). */
int secrets_for_run(int64_t run_id, int64_t runner_id, const char *lease_hash,
    struct secrets_plain **out, size_t *n, int64_t *attempt_no, char team[64], char app[64],
    struct err *err);
void secrets_plain_list_free(struct secrets_plain *p, size_t n);

/* Re-seals every team data key from the key in old_path to the key in
 * new_path, in one transaction of the database at db_path. *n is the number
 * of team keys re-sealed. 0 or -1 with err. */
int secrets_rotate(const char *db_path, const char *old_path, const char *new_path,
    size_t *n, struct err *err);

#endif
