/*
 * crypto: thin, checked wrappers over libsodium and crypt_r(). Everything is
 * thread-safe after crypto_init().
 */
#include <crypt.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "util.h"

static char dummy_hash[CRYPTO_HASH_MAX];

int
crypto_init(void)
{
	if (sodium_init() < 0)
		return -1;
	if (dummy_hash[0] == '\0' &&
	    crypto_password_hash("minitower-dummy", 15, dummy_hash) == -1)
		return -1;
	return 0;
}

void
crypto_token_new(const char *prefix, char out[CRYPTO_TOKEN_MAX])
{
	unsigned char raw[32];
	char enc[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(enc, sizeof(enc), raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(out, CRYPTO_TOKEN_MAX, "%s%s", prefix, enc);
}

void
crypto_sha256_hex(const void *data, size_t n, char out[65])
{
	unsigned char d[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(d, data, n);
	hex_encode(d, sizeof(d), out);
}

bool
crypto_secret_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char da[crypto_hash_sha256_BYTES], db[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(da, (const unsigned char *)a, alen);
	crypto_hash_sha256(db, (const unsigned char *)b, blen);
	return sodium_memcmp(da, db, sizeof(da)) == 0;
}

int
crypto_password_hash(const char *pw, size_t n, char out[CRYPTO_HASH_MAX])
{
	char h[crypto_pwhash_STRBYTES];

	if (crypto_pwhash_str_alg(h, pw, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -1;
	snprintf(out, CRYPTO_HASH_MAX, "%s", h);
	return 0;
}

static bool
bcrypt_verify(const char *hash, const char *pw, size_t n)
{
	struct crypt_data *cd;
	char *pwz;
	const char *r;
	bool ok;

	if (n > 72 || memchr(pw, '\0', n) != NULL)
		return false;
	cd = xcalloc(1, sizeof(*cd));
	pwz = xstrndup(pw, n);
	r = crypt_r(pwz, hash, cd);
	ok = r != NULL && r[0] != '*' && strlen(r) == strlen(hash) &&
	    sodium_memcmp(r, hash, strlen(hash)) == 0;
	sodium_memzero(pwz, n);
	free(pwz);
	free(cd);
	return ok;
}

bool
crypto_password_verify(const char *hash, const char *pw, size_t n, bool *rehash)
{
	*rehash = false;
	if (hash == NULL)
		return false;
	if (strncmp(hash, "$argon2id$", 10) == 0) {
		if (crypto_pwhash_str_verify(hash, pw, n) != 0)
			return false;
		*rehash = crypto_pwhash_str_needs_rehash(hash,
		    crypto_pwhash_OPSLIMIT_INTERACTIVE,
		    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0;
		return true;
	}
	if (strncmp(hash, "$2a$", 4) == 0 || strncmp(hash, "$2b$", 4) == 0 ||
	    strncmp(hash, "$2y$", 4) == 0) {
		if (!bcrypt_verify(hash, pw, n))
			return false;
		*rehash = true;
		return true;
	}
	return false;
}

const char *
crypto_dummy_hash(void)
{
	return dummy_hash;
}

void
crypto_random_hex16(char out[33])
{
	unsigned char r[16];

	randombytes_buf(r, sizeof(r));
	hex_encode(r, sizeof(r), out);
}

void
crypto_uuid4(char out[37])
{
	unsigned char r[16];

	randombytes_buf(r, sizeof(r));
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
	    r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}
