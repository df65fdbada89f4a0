/*
 * api_auth: the public authentication endpoints (auth options, signup,
 * login, bootstrap) and identity and token management (me, tokens). Password
 * hashing runs before any transaction, under the hash gate of throttle.c.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "crypto.h"
#include "json.h"
#include "log.h"
#include "slug.h"
#include "store.h"
#include "throttle.h"
#include "util.h"

#define PASSWORD_MAX 1024

static void
answer_json(struct resp *rs, int status, json_t *v)
{
	resp_jsonv(rs, status, v);
	json_decref(v);
}

static void
internal(struct resp *rs)
{
	resp_error(rs, ERR_INTERNAL, "internal error");
}

/* A store call failed: 503 when the database was unavailable (busy, full,
 * an I/O error: the client may retry), else 500. */
static void
store_failed(struct resp *rs, const struct err *err)
{
	if (err->code == ERR_UNAVAILABLE)
		resp_err(rs, err);
	else
		internal(rs);
}

static void
too_many(struct resp *rs, int64_t retry_after)
{
	char ra[32];

	resp_error(rs, ERR_TOO_MANY, "too many failed attempts; retry later");
	snprintf(ra, sizeof(ra), "%lld", (long long)retry_after);
	resp_header(rs, "Retry-After", ra);
}

/* A string field: 1 present, 0 absent, -1 wrong type (a decoding error). */
static int
str_field(const json_t *body, const char *name, const char **s, size_t *n)
{
	*s = "";
	*n = 0;
	return json_get_str(body, name, s, n);
}

static bool
has_nul(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

/* Hashes a password under the gate; answers 503 or 500 on failure. */
static int
hash_password(const char *pw, size_t n, char out[CRYPTO_HASH_MAX], struct resp *rs)
{
	int rc;

	if (!throttle_hash_begin()) {
		resp_error(rs, ERR_UNAVAILABLE, "server busy");
		return -1;
	}
	rc = crypto_password_hash(pw, n, out);
	throttle_hash_end();
	if (rc == -1)
		internal(rs);
	return rc;
}

void
api_auth_options(struct req *rq, struct resp *rs)
{
	(void)rq;
	answer_json(rs, 200, json_pack("{sbsb}", "signup_enabled", api_cfg->signup_enabled,
	    "bootstrap_enabled", api_cfg->bootstrap_token[0] != '\0'));
}

/* The checks shared by signup and bootstrap: slug, then name. */
static int
check_slug_name(const char *slug, size_t slen, const char *name, size_t nlen,
    bool trim_name, struct resp *rs)
{
	struct err err;
	char *trimmed;
	bool empty;

	if (slug_check(slug, slen, &err) == -1) {
		resp_err(rs, &err);
		return -1;
	}
	trimmed = str_trim(xstrndup(name, nlen));
	empty = trim_name ? trimmed[0] == '\0' : nlen == 0;
	free(trimmed);
	if (empty) {
		resp_error(rs, ERR_INVALID, "name is required");
		return -1;
	}
	if (has_nul(name, nlen)) {
		resp_error(rs, ERR_INVALID, "name must not contain NUL characters");
		return -1;
	}
	return 0;
}

static int
check_password(const char *pw, size_t n, bool required, struct resp *rs)
{
	if (required && n == 0) {
		resp_error(rs, ERR_INVALID, "password is required");
		return -1;
	}
	if (n > PASSWORD_MAX) {
		resp_error(rs, ERR_INVALID, "password must be at most 1024 bytes");
		return -1;
	}
	if (has_nul(pw, n)) {
		resp_error(rs, ERR_INVALID, "password must not contain NUL characters");
		return -1;
	}
	return 0;
}

void
api_signup(struct req *rq, struct resp *rs)
{
	const char *slug, *name, *pw;
	size_t slen, nlen, plen;
	char key[128], hash[CRYPTO_HASH_MAX], tok[CRYPTO_TOKEN_MAX], th[65], *tname = NULL;
	int64_t team_id, retry;
	struct err err;
	json_t *body;

	if (!api_cfg->signup_enabled) {
		resp_error(rs, ERR_FORBIDDEN, "team signup is disabled");
		return;
	}
	if ((body = api_body(rq, rs, false, "invalid JSON body")) == NULL)
		return;
	if (str_field(body, "slug", &slug, &slen) == -1 || str_field(body, "name", &name, &nlen) == -1 ||
	    str_field(body, "password", &pw, &plen) == -1) {
		resp_error(rs, ERR_INVALID, "invalid JSON body");
		goto out;
	}
	if (check_slug_name(slug, slen, name, nlen, true, rs) == -1 ||
	    check_password(pw, plen, true, rs) == -1)
		goto out;
	snprintf(key, sizeof(key), "signup:%s", rq->client_addr);
	if (throttle_limited(key, api_cfg->signups_per_min, &retry)) {
		too_many(rs, retry);
		goto out;
	}
	if (hash_password(pw, plen, hash, rs) == -1)
		goto out;
	crypto_token_new("mtk_", tok);
	crypto_sha256_hex(tok, strlen(tok), th);
	tname = str_trim(xstrndup(name, nlen));
	if (store_signup(slug, tname, hash, th, &team_id, &err) == -1) {
		if (err.code == ERR_SLUG_TAKEN)
			resp_err(rs, &err);
		else
			store_failed(rs, &err);
		goto out;
	}
	throttle_add(key);
	answer_json(rs, 201, json_pack("{sIssssss}", "team_id", (json_int_t)team_id, "slug", slug,
	    "token", tok, "role", "admin"));
out:
	free(tname);
	json_decref(body);
}

/* Verifies pw for slug (dummy hash for an unknown team) under the gate.
 * Returns 1 match, 0 mismatch, -1 when rs holds an answer (503/500). */
static int
verify_login(const char *slug, const char *pw, size_t plen, int64_t *team_id,
    char **stored, bool *rehash, struct resp *rs)
{
	struct err err;
	bool ok;

	*team_id = 0;
	if (has_nul(slug, strlen(slug)) || store_team_password(slug, team_id, stored, &err) == -1) {
		if (err.code == ERR_INTERNAL || err.code == ERR_UNAVAILABLE) {
			store_failed(rs, &err);
			return -1;
		}
		*team_id = 0;
	}
	if (!throttle_hash_begin()) {
		resp_error(rs, ERR_UNAVAILABLE, "server busy");
		return -1;
	}
	ok = crypto_password_verify(*stored != NULL ? *stored : crypto_dummy_hash(), pw, plen, rehash);
	throttle_hash_end();
	return ok && *team_id != 0 && *stored != NULL;
}

/* Argon2id of pw for a legacy or outdated hash; false (logged) on failure. */
static bool
make_rehash(const char *pw, size_t n, char out[CRYPTO_HASH_MAX])
{
	bool ok = false;

	if (throttle_hash_begin()) {
		ok = crypto_password_hash(pw, n, out) == 0;
		throttle_hash_end();
	}
	if (!ok)
		log_warn("password rehash failed", "error=%s", "no hash slot or hashing failed");
	return ok;
}

/* The throttling key of the client's address. */
static void
addr_key(const struct req *rq, char *out, size_t outsz)
{
	snprintf(out, outsz, "login-addr:%s", rq->client_addr);
}

void
api_bootstrap_refused(const struct req *rq)
{
	char akey[128];

	addr_key(rq, akey, sizeof(akey));
	throttle_add(akey);
}

void
api_login(struct req *rq, struct resp *rs)
{
	const char *slug, *pw;
	size_t slen, plen;
	char skey[128], akey[128], tok[CRYPTO_TOKEN_MAX], th[65], newhash[CRYPTO_HASH_MAX];
	char *stored = NULL;
	int64_t team_id, token_id, retry, lim = api_cfg->login_failures_per_min;
	bool rehash = false, rehashed;
	struct err err;
	json_t *body;
	int ok;

	if ((body = api_body(rq, rs, false, "invalid JSON body")) == NULL)
		return;
	if (str_field(body, "slug", &slug, &slen) == -1 || str_field(body, "password", &pw, &plen) == -1) {
		resp_error(rs, ERR_INVALID, "invalid JSON body");
		goto out;
	}
	if (slen == 0 || plen == 0) {
		resp_error(rs, ERR_INVALID, "slug and password are required");
		goto out;
	}
	if (check_password(pw, plen, true, rs) == -1)
		goto out;
	snprintf(skey, sizeof(skey), "login-slug:%.100s", slug);
	addr_key(rq, akey, sizeof(akey));
	if (throttle_limited(skey, lim, &retry) || throttle_limited(akey, lim * 5, &retry)) {
		too_many(rs, retry);
		goto out;
	}
	if ((ok = verify_login(slug, pw, plen, &team_id, &stored, &rehash, rs)) == -1)
		goto out;
	if (ok == 0) {
		throttle_add(skey);
		throttle_add(akey);
		resp_error(rs, ERR_UNAUTHORIZED, "invalid slug or password");
		goto out;
	}
	throttle_clear(skey);
	if (rehash)
		rehash = make_rehash(pw, plen, newhash);
	crypto_token_new("mtk_", tok);
	crypto_sha256_hex(tok, strlen(tok), th);
	if (store_login(team_id, th, stored, rehash ? newhash : NULL, &token_id, &rehashed, &err) == -1) {
		store_failed(rs, &err);
		goto out;
	}
	answer_json(rs, 201, json_pack("{sIsssIss}", "team_id", (json_int_t)team_id, "token", tok,
	    "token_id", (json_int_t)token_id, "role", "admin"));
out:
	free(stored);
	json_decref(body);
}

void
api_bootstrap(struct req *rq, struct resp *rs)
{
	const char *slug, *name, *pw;
	size_t slen, nlen, plen;
	char hash[CRYPTO_HASH_MAX], tok[CRYPTO_TOKEN_MAX], th[65];
	int64_t team_id;
	bool created;
	struct err err;
	json_t *body;

	if ((body = api_body(rq, rs, false, "invalid JSON body")) == NULL)
		return;
	if (str_field(body, "slug", &slug, &slen) == -1 || str_field(body, "name", &name, &nlen) == -1 ||
	    str_field(body, "password", &pw, &plen) == -1) {
		resp_error(rs, ERR_INVALID, "invalid JSON body");
		goto out;
	}
	if (check_slug_name(slug, slen, name, nlen, false, rs) == -1 ||
	    check_password(pw, plen, false, rs) == -1)
		goto out;
	if (plen > 0 && hash_password(pw, plen, hash, rs) == -1)
		goto out;
	crypto_token_new("mtk_", tok);
	crypto_sha256_hex(tok, strlen(tok), th);
	if (store_bootstrap(slug, name, nlen, plen > 0 ? hash : NULL, th, &team_id, &created, &err) == -1) {
		if (err.code == ERR_TEAM_EXISTS)
			resp_err(rs, &err);
		else
			store_failed(rs, &err);
		goto out;
	}
	answer_json(rs, created ? 201 : 200, json_pack("{sIssssss}", "team_id", (json_int_t)team_id,
	    "slug", slug, "token", tok, "role", "admin"));
out:
	json_decref(body);
}

void
api_me(struct req *rq, struct resp *rs)
{
	answer_json(rs, 200, json_pack("{sIsssIss}", "team_id", (json_int_t)rq->team.team_id,
	    "team_slug", rq->team.team_slug, "token_id", (json_int_t)rq->team.token_id,
	    "role", rq->team.admin ? "admin" : "member"));
}

void
api_token_create(struct req *rq, struct resp *rs)
{
	const char *name = NULL, *role = NULL;
	size_t nlen = 0, rlen = 0;
	char tok[CRYPTO_TOKEN_MAX], th[65];
	int64_t id;
	bool admin = false;
	int has_name, has_role;
	struct err err;
	json_t *body, *out;

	if ((body = api_body(rq, rs, true, "malformed JSON body")) == NULL)
		return;
	has_name = json_get_str(body, "name", &name, &nlen);
	has_role = json_get_str(body, "role", &role, &rlen);
	if (has_name == -1 || has_role == -1 || !json_is_object(body)) {
		resp_error(rs, ERR_INVALID, "malformed JSON body");
		goto done;
	}
	if (has_role == 1 && strcmp(role, "admin") != 0 && strcmp(role, "member") != 0) {
		resp_error(rs, ERR_INVALID, "role must be admin or member");
		goto done;
	}
	if (has_name == 1 && has_nul(name, nlen)) {
		resp_error(rs, ERR_INVALID, "name must not contain NUL characters");
		goto done;
	}
	admin = rq->team.admin && has_role == 1 && strcmp(role, "admin") == 0;
	crypto_token_new("mtk_", tok);
	crypto_sha256_hex(tok, strlen(tok), th);
	if (store_token_create(rq->team.team_id, has_name == 1 ? name : NULL, nlen, admin, th, &id,
	    &err) == -1) {
		store_failed(rs, &err);
		goto done;
	}
	out = json_pack("{sIss}", "token_id", (json_int_t)id, "token", tok);
	if (has_name == 1)
		json_object_set_new(out, "name", json_stringn(name, nlen));
	json_object_set_new(out, "role", json_string(admin ? "admin" : "member"));
	answer_json(rs, 201, out);
done:
	json_decref(body);
}

static json_t *
ts_json(int64_t ms)
{
	char t[40];

	fmt_rfc3339_ms(ms, t, sizeof(t));
	return json_string(t);
}

void
api_token_list(struct req *rq, struct resp *rs)
{
	struct token_row *rows;
	size_t n, i;
	struct err err;
	json_t *arr;

	if (store_token_list(rq->team.team_id, &rows, &n, &err) == -1) {
		store_failed(rs, &err);
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++) {
		json_t *t = json_pack("{sI}", "token_id", (json_int_t)rows[i].id);

		if (rows[i].name != NULL)
			json_object_set_new(t, "name", json_stringn(rows[i].name, rows[i].name_len));
		json_object_set_new(t, "role", json_string(rows[i].admin ? "admin" : "member"));
		json_object_set_new(t, "created_at", ts_json(rows[i].created_at));
		if (rows[i].last_used_at != 0)
			json_object_set_new(t, "last_used_at", ts_json(rows[i].last_used_at));
		json_array_append_new(arr, t);
	}
	store_tokens_free(rows, n);
	answer_json(rs, 200, json_pack("{so}", "tokens", arr));
}

void
api_token_revoke(struct req *rq, struct resp *rs)
{
	struct err err;
	int64_t id;

	if (parse_i64(rq->param, &id) != 0 || id < 1) {
		resp_error(rs, ERR_INVALID, "invalid token ID");
		return;
	}
	if (store_token_revoke(rq->team.team_id, id, &err) == -1) {
		if (err.code == ERR_NOT_FOUND)
			resp_err(rs, &err);
		else
			store_failed(rs, &err);
		return;
	}
	resp_empty(rs, 204);
}

void
api_logout(struct req *rq, struct resp *rs)
{
	struct err err;

	if (store_token_revoke(rq->team.team_id, rq->team.token_id, &err) == -1) {
		store_failed(rs, &err);
		return;
	}
	log_info("signed out", "team=%s token_id=%d", rq->team.team_slug, rq->team.token_id);
	resp_empty(rs, 204);
}
