/*
 * secrets_ops: the secret operations that join the keys (secrets.c) to the
 * store (store_secret.c): sealing a value for a PUT (creating the team's
 * data key on first use), opening a run's secrets for delivery, and the
 * master key rotation. Plain values exist only in guarded memory here and
 * in the caller's response buffer.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "secrets.h"
#include "store.h"
#include "store_secret.h"
#include "util.h"

/* The team's data key, created (sealed with the master key) when missing. */
static struct secrets_key *
team_data_key(int64_t team_id, struct err *err)
{
	struct secrets_sealed cand = { NULL, NULL };
	struct team_key_row row;
	struct secrets_key *dk = NULL;

	memset(&row, 0, sizeof(row));
	if (secrets_team_key_new(team_id, &cand, err) == -1)
		return NULL;
	if (store_team_key_ensure(team_id, cand.nonce, cand.ct, &row, err) == 0) {
		struct secrets_sealed s = { row.nonce, row.ct };

		dk = secrets_team_key(team_id, &s, err);
	}
	secrets_sealed_clear(&cand);
	store_team_key_clear(&row);
	return dk;
}

int
secrets_put(const struct secrets_put *in, bool *created, int64_t *version, struct err *err)
{
	struct secrets_sealed sealed = { NULL, NULL };
	struct secrets_key *dk;
	struct secret_write w;
	struct buf ad;
	int rc;

	if (!secrets_configured())
		return err_set(err, ERR_UNAVAILABLE, "secrets are not configured");
	if ((dk = team_data_key(in->scope.team_id, err)) == NULL)
		return -1;
	buf_init(&ad, 1024);
	secrets_value_ad(&ad, &in->scope);
	secrets_seal(dk, in->value, in->len, buf_str(&ad), ad.len, &sealed);
	secrets_key_free(dk);
#ifdef MT_FAULTS
	if (getenv("MT_FAULT_PLAIN_SECRETS") != NULL) {	/* the leak scan's failing twin */
		free(sealed.ct);
		sealed.ct = xstrndup(in->value, in->len);
	}
#endif
	w = (struct secret_write){ .team_id = in->scope.team_id, .name = in->scope.name,
		.app_id = in->scope.app_id, .environment = in->scope.environment,
		.nonce = sealed.nonce, .ct = sealed.ct, .token_id = in->token_id };
	rc = store_secret_put(&w, created, version, err);
	secrets_sealed_clear(&sealed);
	buf_free(&ad);
	return rc;
}

void
secrets_plain_list_free(struct secrets_plain *p, size_t n)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < n; i++)
		secrets_plain_free(p[i].value, p[i].len);
	free(p);
}

/* Opens rows[i] into out[i] with the team data key dk. */
static int
open_row(const struct secrets_key *dk, const struct secret_row *r, struct secrets_plain *out,
    struct err *err)
{
	struct secrets_scope sc = { r->team_id, r->name, r->app_id, r->environment };
	struct secrets_sealed s = { r->nonce, r->ct };
	struct buf ad;
	int rc;

	buf_init(&ad, 1024);
	secrets_value_ad(&ad, &sc);
	snprintf(out->name, sizeof(out->name), "%s", r->name);
	rc = secrets_open(dk, &s, buf_str(&ad), ad.len, &out->value, &out->len, err);
	buf_free(&ad);
	return rc;
}

/* Opens every row with the team's key (sealed in key). */
static int
open_rows(const struct team_key_row *key, const struct secret_row *rows, size_t n,
    struct secrets_plain **out, struct err *err)
{
	struct secrets_sealed ks = { key->nonce, key->ct };
	struct secrets_key *dk;
	size_t i;

	*out = xcalloc(n + 1, sizeof(**out));
	if (n == 0)
		return 0;
	if (key->team_id == 0)
		return err_set(err, ERR_INTERNAL, "team data key missing");
	if ((dk = secrets_team_key(key->team_id, &ks, err)) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (open_row(dk, &rows[i], &(*out)[i], err) == -1)
			break;
	secrets_key_free(dk);
	return i == n ? 0 : -1;
}

int
secrets_for_run(int64_t run_id, int64_t runner_id, const char *lease_hash,
    struct secrets_plain **out, size_t *n, int64_t *attempt_no, char team[64], char app[64],
    struct err *err)
{
	struct team_key_row key;
	struct secret_row *rows = NULL;
	struct attempt a;
	size_t nrows = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (store_secrets_for_run(run_id, runner_id, lease_hash, &a, &rows, &nrows, &key,
	    err) == -1)
		return -1;
	*attempt_no = a.attempt_no;
	snprintf(team, 64, "%s", a.team_slug);
	snprintf(app, 64, "%s", a.app_slug);
	if (nrows > 0 && !secrets_configured())
		rc = err_set(err, ERR_UNAVAILABLE, "secrets are not configured");
	else
		rc = open_rows(&key, rows, nrows, out, err);
	if (rc == 0) {
		*n = nrows;
	} else {
		secrets_plain_list_free(*out, nrows);
		*out = NULL;
	}
	store_secret_rows_free(rows, nrows);
	store_team_key_clear(&key);
	return rc;
}

/* Re-seals each key of old under mk_old into repl under mk_new. */
static int
reseal_all(const struct secrets_key *mk_old, const struct secrets_key *mk_new,
    const struct team_key_row *old, struct team_key_row *repl, size_t n, struct err *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct secrets_sealed s = { old[i].nonce, old[i].ct }, o = { NULL, NULL };
		struct secrets_key *dk = secrets_team_key_open(mk_old, old[i].team_id, &s, err);

		if (dk == NULL)
			return err_prefix(err, "team %lld (is --old the current key?): ",
			    (long long)old[i].team_id);
		secrets_team_key_seal(mk_new, old[i].team_id, dk, &o);
		secrets_key_free(dk);
		repl[i].team_id = old[i].team_id;
		repl[i].nonce = o.nonce;
		repl[i].ct = o.ct;
	}
	return 0;
}

int
secrets_rotate(const char *db_path, const char *old_path, const char *new_path, size_t *n,
    struct err *err)
{
	struct secrets_key *mk_old = NULL, *mk_new = NULL;
	struct team_key_row *keys = NULL, *repl = NULL;
	size_t nkeys = 0, i;
	int rc = -1;

	*n = 0;
	if ((mk_old = secrets_key_read(old_path, err)) == NULL ||
	    (mk_new = secrets_key_read(new_path, err)) == NULL)
		goto out;
	if (sodium_memcmp(mk_old->k, mk_new->k, SECRETS_KEY_BYTES) == 0) {
		err_set(err, ERR_INVALID, "--old and --new hold the same key");
		goto out;
	}
	if (store_open(db_path, true, err) == -1)
		goto out;
	if (store_team_keys_all(&keys, &nkeys, err) == -1)
		goto close;
	repl = xcalloc(nkeys + 1, sizeof(*repl));
	if (reseal_all(mk_old, mk_new, keys, repl, nkeys, err) == 0 &&
	    store_team_keys_replace(keys, repl, nkeys, err) == 0) {
		*n = nkeys;
		rc = 0;
	}
	for (i = 0; i < nkeys; i++)
		store_team_key_clear(&repl[i]);
	free(repl);
	store_team_keys_free(keys, nkeys);
close:
	store_close();
out:
	secrets_key_free(mk_old);
	secrets_key_free(mk_new);
	return rc;
}
