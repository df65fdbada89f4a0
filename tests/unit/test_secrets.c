/*
 * test_secrets: the sealing of src/server/secrets.c. A value opens with its
 * key and associated data only: a wrong key, another team, name, app or
 * environment (none differs from ""), a truncated or altered ciphertext,
 * a bad nonce and bad base64 all fail cleanly with one message. Team data
 * keys open only for their own team. The key file must be base64 of 32
 * bytes and not readable by group or others; secret names follow the regex
 * and keep clear of the job's own variables.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/server/secrets.c"

#include <setjmp.h>
#include <cmocka.h>

#include "tmpdir.h"

static const char value[] = "postgres://user:hunter2@db/prod";

/* Seals value in scope s with key k. */
static void
seal_in(const struct secrets_key *k, const struct secrets_scope *s, struct secrets_sealed *out)
{
	struct buf ad;

	buf_init(&ad, 1024);
	secrets_value_ad(&ad, s);
	secrets_seal(k, value, strlen(value), buf_str(&ad), ad.len, out);
	buf_free(&ad);
}

/* Opens sealed in scope s with key k: 0 (and checks the value) or -1. */
static int
open_in(const struct secrets_key *k, const struct secrets_scope *s,
    const struct secrets_sealed *sealed)
{
	static unsigned char sentinel[] = "x";
	unsigned char *plain = sentinel;
	size_t len = 99;
	struct buf ad;
	struct err err;
	int rc;

	buf_init(&ad, 1024);
	secrets_value_ad(&ad, s);
	err_clear(&err);
	rc = secrets_open(k, sealed, buf_str(&ad), ad.len, &plain, &len, &err);
	buf_free(&ad);
	if (rc == 0) {
		assert_int_equal(len, strlen(value));
		assert_memory_equal(plain, value, len);
		secrets_plain_free(plain, len);
	} else {
		assert_null(plain);
		assert_int_equal(len, 0);
		assert_int_equal(err.code, ERR_INTERNAL);
		assert_string_equal(err.msg, "secret cannot be opened");
	}
	return rc;
}

static void
test_roundtrip_and_wrong_key(void **state)
{
	struct secrets_key *k = secrets_key_random(), *other = secrets_key_random();
	struct secrets_scope s = { 7, "DB_URL", 0, NULL };
	struct secrets_sealed a, b;

	(void)state;
	seal_in(k, &s, &a);
	seal_in(k, &s, &b);
	assert_string_not_equal(a.nonce, b.nonce);	/* a fresh nonce each time */
	assert_string_not_equal(a.ct, b.ct);
	assert_null(strstr(a.ct, "hunter2"));
	assert_int_equal(open_in(k, &s, &a), 0);
	assert_int_equal(open_in(other, &s, &a), -1);
	secrets_sealed_clear(&a);
	secrets_sealed_clear(&b);
	secrets_key_free(k);
	secrets_key_free(other);
}

static void
test_wrong_associated_data(void **state)
{
	struct secrets_key *k = secrets_key_random();
	struct secrets_scope s = { 7, "DB_URL", 3, "prod" };
	struct secrets_scope other_team = { 8, "DB_URL", 3, "prod" };
	struct secrets_scope other_name = { 7, "DB_URL2", 3, "prod" };
	struct secrets_scope other_app = { 7, "DB_URL", 4, "prod" };
	struct secrets_scope no_app = { 7, "DB_URL", 0, "prod" };
	struct secrets_scope other_env = { 7, "DB_URL", 3, "staging" };
	struct secrets_scope no_env = { 7, "DB_URL", 3, NULL };
	struct secrets_scope empty_env = { 7, "DB_URL", 3, "" };
	struct secrets_sealed a, n;

	(void)state;
	seal_in(k, &s, &a);
	assert_int_equal(open_in(k, &s, &a), 0);
	assert_int_equal(open_in(k, &other_team, &a), -1);
	assert_int_equal(open_in(k, &other_name, &a), -1);
	assert_int_equal(open_in(k, &other_app, &a), -1);
	assert_int_equal(open_in(k, &no_app, &a), -1);
	assert_int_equal(open_in(k, &other_env, &a), -1);
	assert_int_equal(open_in(k, &no_env, &a), -1);
	seal_in(k, &no_env, &n);
	assert_int_equal(open_in(k, &empty_env, &n), -1);
	assert_int_equal(open_in(k, &no_env, &n), 0);
	secrets_sealed_clear(&a);
	secrets_sealed_clear(&n);
	secrets_key_free(k);
}

/* ct with its last n base64 characters dropped (re-padded to a multiple of
 * 4 so that only the length is wrong). */
static char *
truncated(const char *b64text, size_t bytes)
{
	size_t blen = 0, len = strlen(b64text);
	unsigned char *bin = unb64(b64text, &blen);
	char *out;

	assert_non_null(bin);
	assert_true(blen > bytes);
	out = b64(bin, blen - bytes);
	free(bin);
	(void)len;
	return out;
}

static void
test_truncated_and_altered(void **state)
{
	struct secrets_key *k = secrets_key_random();
	struct secrets_scope s = { 1, "API_KEY", 0, NULL };
	struct secrets_sealed a, t;
	size_t cut[] = { 1, 16, strlen(value), strlen(value) + 15, strlen(value) + 16 };
	size_t i;
	char *orig;

	(void)state;
	seal_in(k, &s, &a);
	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		t.nonce = a.nonce;
		t.ct = cut[i] < strlen(value) + 16 ? truncated(a.ct, cut[i]) : xstrdup("");
		assert_int_equal(open_in(k, &s, &t), -1);
		free(t.ct);
	}
	t.ct = a.ct;	/* a short nonce */
	t.nonce = truncated(a.nonce, 1);
	assert_int_equal(open_in(k, &s, &t), -1);
	free(t.nonce);
	t.nonce = xstrdup("not base64 !!");
	assert_int_equal(open_in(k, &s, &t), -1);
	free(t.nonce);
	t.nonce = NULL;
	assert_int_equal(open_in(k, &s, &t), -1);
	orig = xstrdup(a.ct);	/* one flipped bit in the middle */
	a.ct[4] = a.ct[4] == 'A' ? 'B' : 'A';
	assert_int_equal(open_in(k, &s, &a), -1);
	snprintf(a.ct, strlen(orig) + 1, "%s", orig);
	assert_int_equal(open_in(k, &s, &a), 0);
	free(orig);
	secrets_sealed_clear(&a);
	secrets_key_free(k);
}

static void
test_team_key(void **state)
{
	struct secrets_key *mk = secrets_key_random(), *mk2 = secrets_key_random();
	struct secrets_key *dk = secrets_key_random(), *got;
	struct secrets_sealed s;
	struct err err;

	(void)state;
	secrets_team_key_seal(mk, 5, dk, &s);
	got = secrets_team_key_open(mk, 5, &s, &err);
	assert_non_null(got);
	assert_memory_equal(got->k, dk->k, SECRETS_KEY_BYTES);
	secrets_key_free(got);
	assert_null(secrets_team_key_open(mk, 6, &s, &err));	/* another team's row */
	assert_null(secrets_team_key_open(mk2, 5, &s, &err));	/* another master key */
	assert_null(secrets_team_key(5, &s, &err));		/* none loaded */
	assert_int_equal(err.code, ERR_UNAVAILABLE);
	assert_false(secrets_configured());
	secrets_sealed_clear(&s);
	secrets_key_free(dk);
	secrets_key_free(mk);
	secrets_key_free(mk2);
}

static char *
key_file(const char *name, const char *text, mode_t mode)
{
	char *p = xasprintf("%s/%s", tmp, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(p, mode), 0);
	return p;
}

static void
test_key_file(void **state)
{
	static const char good[] = "  MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n";
	struct secrets_key *k;
	struct err err;
	char *p;

	(void)state;
	tmpdir_setup("/tmp/mt-test-secrets-XXXXXX");
	p = key_file("ok", good, 0600);
	k = secrets_key_read(p, &err);
	assert_non_null(k);
	assert_memory_equal(k->k, "0123456789abcdef0123456789abcdef", 32);
	secrets_key_free(k);
	assert_int_equal(secrets_init(p, &err), 0);
	assert_true(secrets_configured());
	assert_int_equal(secrets_reload(&err), 0);
	secrets_shutdown();
	assert_false(secrets_configured());
	free(p);
	p = key_file("open", good, 0640);
	assert_null(secrets_key_read(p, &err));
	assert_int_equal(err.code, ERR_INVALID);
	assert_non_null(strstr(err.msg, "group or others"));
	assert_int_equal(secrets_init(p, &err), -1);
	free(p);
	p = key_file("short", "MDEyMzQ1Njc4OWFiY2RlZg==\n", 0600);
	assert_null(secrets_key_read(p, &err));
	assert_non_null(strstr(err.msg, "exactly 32 bytes"));
	free(p);
	p = xasprintf("%s/missing", tmp);
	assert_null(secrets_key_read(p, &err));
	assert_int_equal(err.code, ERR_IO);
	free(p);
	assert_int_equal(secrets_init(NULL, &err), 0);	/* unset: not configured */
	assert_false(secrets_configured());
	tmpdir_teardown();
}

static void
test_names(void **state)
{
	static const char *const ok[] = { "DB_URL", "_X", "A", "A1_B2", NULL };
	static const char *const bad[] = { "", "1A", "db_url", "A-B", "A B", "É", NULL };
	static const char *const reserved[] = { "PATH", "HOME", "MINITOWER_TOKEN", "LD_PRELOAD",
		"PYTHONPATH", "TZ", NULL };
	char longname[140];
	struct err err;
	size_t i;

	(void)state;
	for (i = 0; ok[i] != NULL; i++)
		assert_int_equal(secrets_name_check(ok[i], strlen(ok[i]), &err), 0);
	for (i = 0; bad[i] != NULL; i++)
		assert_int_equal(secrets_name_check(bad[i], strlen(bad[i]), &err), -1);
	for (i = 0; reserved[i] != NULL; i++) {
		assert_int_equal(secrets_name_check(reserved[i], strlen(reserved[i]), &err), -1);
		assert_non_null(strstr(err.msg, "reserved"));
	}
	memset(longname, 'A', sizeof(longname));
	assert_int_equal(secrets_name_check(longname, 128, &err), 0);
	assert_int_equal(secrets_name_check(longname, 129, &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_and_wrong_key),
		cmocka_unit_test(test_wrong_associated_data),
		cmocka_unit_test(test_truncated_and_altered),
		cmocka_unit_test(test_team_key),
		cmocka_unit_test(test_key_file),
		cmocka_unit_test(test_names),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
