/*
 * crypto: tokens, digests and passwords (libsodium and libxcrypt). Tokens are
 * a prefix plus the unpadded base64url of 32 random bytes; only their SHA-256
 * (lowercase hex) is ever stored. Passwords are Argon2id; legacy bcrypt
 * hashes verify through crypt_r().
 */
#ifndef MT_CRYPTO_H
#define MT_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#define CRYPTO_TOKEN_MAX 64	/* prefix + 43 chars + NUL fits */
#define CRYPTO_HASH_MAX 256	/* an encoded password hash fits */

/* Initialises libsodium; call once at start-up. Returns 0 or -1. */
int crypto_init(void);
/* Writes prefix + base64url(32 random bytes) into out (CRYPTO_TOKEN_MAX). */
void crypto_token_new(const char *prefix, char out[CRYPTO_TOKEN_MAX]);
/* Lowercase hex SHA-256 of data[0..n) into out (65 bytes). */
void crypto_sha256_hex(const void *data, size_t n, char out[65]);
/* Constant-time comparison of two secrets via their SHA-256 digests. */
bool crypto_secret_equal(const char *a, size_t alen, const char *b, size_t blen);
/* Argon2id (interactive limits) of a password into out. Returns 0 or -1. */
int crypto_password_hash(const char *pw, size_t n, char out[CRYPTO_HASH_MAX]);
/* Verifies pw against an Argon2id or bcrypt hash; any other format fails.
 * *rehash is set when the hash should be upgraded (bcrypt or outdated). */
bool crypto_password_verify(const char *hash, const char *pw, size_t n, bool *rehash);
/* A fixed valid Argon2id hash to verify against when a team is unknown. */
const char *crypto_dummy_hash(void);
/* 32 lowercase hex characters from 16 random bytes into out (33 bytes). */
void crypto_random_hex16(char out[33]);
/* A random RFC 4122 version 4 UUID string into out (37 bytes). */
void crypto_uuid4(char out[37]);

#endif
