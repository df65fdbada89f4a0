/*
 * secrets: the cryptography of team secrets. Keys live in sodium_malloc'd
 * memory (guard pages, mlock'd, wiped on free); every temporary copy of a
 * key or a value is wiped (sodium_free/sodium_memzero). A sealed value is
 * the base64 of a random 24-byte nonce and of the XChaCha20-Poly1305
 * ciphertext, two text columns of the store.
 * The master key is read once (and again on SIGHUP) behind a rwlock.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "secrets.h"
#include "util.h"

#define NONCE_BYTES	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES	crypto_aead_xchacha20poly1305_ietf_ABYTES
#define KEY_FILE_MAX	256	/* base64 of 32 bytes is 44 characters */

static pthread_rwlock_t master_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct secrets_key *master;	/* NULL: not configured */
static char *master_path;

static struct secrets_key *
key_alloc(void)
{
	struct secrets_key *k = xcalloc(1, sizeof(*k));

	k->k = sodium_malloc(SECRETS_KEY_BYTES);
	if (k->k == NULL)
		abort();	/* allocation failure aborts, as xmalloc does */
	return k;
}

struct secrets_key *
secrets_key_random(void)
{
	struct secrets_key *k = key_alloc();

	crypto_aead_xchacha20poly1305_ietf_keygen(k->k);
	return k;
}

void
secrets_key_free(struct secrets_key *k)
{
	if (k == NULL)
		return;
	sodium_free(k->k);	/* wipes before it frees */
	free(k);
}

/* Reads at most KEY_FILE_MAX - 1 bytes of fd into text; -1 with err. */
static int
read_key_text(int fd, const char *path, char *text, size_t *len, struct err *err)
{
	ssize_t n;

	*len = 0;
	while (*len < KEY_FILE_MAX - 1) {
		n = read(fd, text + *len, KEY_FILE_MAX - 1 - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return err_set(err, ERR_IO, "cannot read secrets key file %s: %s", path,
			    strerror(errno));
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	text[*len] = '\0';
	return 0;
}

/* Decodes the trimmed base64 text into a new key; NULL with err. */
static struct secrets_key *
decode_key(const char *text, size_t len, const char *path, struct err *err)
{
	struct secrets_key *k = key_alloc();
	size_t start = 0, got = 0;

	while (start < len && (text[start] == ' ' || text[start] == '\n' || text[start] == '\r' ||
	    text[start] == '\t'))
		start++;
	while (len > start && (text[len - 1] == ' ' || text[len - 1] == '\n' ||
	    text[len - 1] == '\r' || text[len - 1] == '\t'))
		len--;
	if (sodium_base642bin(k->k, SECRETS_KEY_BYTES, text + start, len - start, NULL, &got,
	    NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || got != SECRETS_KEY_BYTES) {
		secrets_key_free(k);
		err_set(err, ERR_INVALID, "secrets key file %s must hold the base64 of exactly 32 "
		    "bytes", path);
		return NULL;
	}
	return k;
}

struct secrets_key *
secrets_key_read(const char *path, struct err *err)
{
	struct secrets_key *k = NULL;
	char *text = sodium_malloc(KEY_FILE_MAX);
	struct stat st;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (text == NULL)
		abort();
	if (fd == -1) {
		err_set(err, ERR_IO, "cannot open secrets key file %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		err_set(err, ERR_INVALID, "secrets key file %s is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		err_set(err, ERR_INVALID, "secrets key file %s must not be accessible to group or "
		    "others (mode %03o; chmod 600 it)", path, (unsigned)(st.st_mode & 0777));
		goto out;
	}
	if (read_key_text(fd, path, text, &len, err) == 0)
		k = decode_key(text, len, path, err);
out:
	if (fd != -1)
		close(fd);
	sodium_free(text);
	return k;
}

int
secrets_init(const char *path, struct err *err)
{
	struct secrets_key *k;

	if (path == NULL || path[0] == '\0')
		return 0;
	if ((k = secrets_key_read(path, err)) == NULL)
		return -1;
	pthread_rwlock_wrlock(&master_lock);
	secrets_key_free(master);
	master = k;
	free(master_path);
	master_path = xstrdup(path);
	pthread_rwlock_unlock(&master_lock);
	return 0;
}

int
secrets_reload(struct err *err)
{
	char *path;
	int rc;

	pthread_rwlock_rdlock(&master_lock);
	path = master_path != NULL ? xstrdup(master_path) : NULL;
	pthread_rwlock_unlock(&master_lock);
	if (path == NULL)
		return err_set(err, ERR_INVALID, "secrets are not configured");
	rc = secrets_init(path, err);
	free(path);
	return rc;
}

bool
secrets_configured(void)
{
	bool ok;

	pthread_rwlock_rdlock(&master_lock);
	ok = master != NULL;
	pthread_rwlock_unlock(&master_lock);
	return ok;
}

void
secrets_shutdown(void)
{
	pthread_rwlock_wrlock(&master_lock);
	secrets_key_free(master);
	master = NULL;
	free(master_path);
	master_path = NULL;
	pthread_rwlock_unlock(&master_lock);
}

/* The standard padded base64 of bin[0..n) (caller frees). */
static char *
b64(const unsigned char *bin, size_t n)
{
	size_t len = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	char *out = xmalloc(len);

	sodium_bin2base64(out, len, bin, n, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

/* Decodes base64 text into a new buffer of *n bytes (caller frees); NULL
 * when it does not decode. */
static unsigned char *
unb64(const char *text, size_t *n)
{
	size_t tlen = strlen(text), max = tlen / 4 * 3 + 3;
	unsigned char *bin = xmalloc(max);

	if (sodium_base642bin(bin, max, text, tlen, NULL, n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(bin);
		return NULL;
	}
	return bin;
}

void
secrets_seal(const struct secrets_key *key, const void *plain, size_t len, const void *ad,
    size_t adlen, struct secrets_sealed *out)
{
	unsigned char nonce[NONCE_BYTES];
	unsigned char *ct = xmalloc(len + TAG_BYTES);
	unsigned long long clen = 0;

	randombytes_buf(nonce, sizeof(nonce));
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &clen, plain, len, ad, adlen, NULL,
	    nonce, key->k) != 0)
		abort();	/* cannot fail for these sizes */
	out->nonce = b64(nonce, sizeof(nonce));
	out->ct = b64(ct, (size_t)clen);
	free(ct);
}

void
secrets_sealed_clear(struct secrets_sealed *s)
{
	if (s == NULL)
		return;
	free(s->nonce);
	free(s->ct);
	s->nonce = s->ct = NULL;
}

int
secrets_open(const struct secrets_key *key, const struct secrets_sealed *s, const void *ad,
    size_t adlen, unsigned char **plain, size_t *len, struct err *err)
{
	size_t nlen = 0, clen = 0;
	unsigned char *nonce = s->nonce != NULL ? unb64(s->nonce, &nlen) : NULL;
	unsigned char *ct = s->ct != NULL ? unb64(s->ct, &clen) : NULL;
	unsigned long long plen = 0;
	int rc = -1;

	*plain = NULL;
	*len = 0;
	if (nonce == NULL || ct == NULL || nlen != NONCE_BYTES || clen < TAG_BYTES)
		goto out;
	*plain = sodium_malloc(clen - TAG_BYTES + 1);
	if (*plain == NULL)
		abort();
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(*plain, &plen, NULL, ct, clen, ad, adlen,
	    nonce, key->k) != 0) {
		sodium_free(*plain);
		*plain = NULL;
		goto out;
	}
	(*plain)[plen] = '\0';
	*len = (size_t)plen;
	rc = 0;
out:
	free(nonce);
	free(ct);
	if (rc == -1)
		err_set(err, ERR_INTERNAL, "secret cannot be opened");
	return rc;
}

void
secrets_plain_free(unsigned char *plain, size_t len)
{
	(void)len;
	sodium_free(plain);	/* wipes the whole allocation */
}

void
secrets_value_ad(struct buf *b, const struct secrets_scope *s)
{
	buf_reset(b);
	buf_addf(b, "minitower-secret:v1|team=%lld|name=%s|app=%lld|env=", (long long)s->team_id,
	    s->name, (long long)s->app_id);
	if (s->environment != NULL)	/* "+name" vs "-": none and "" differ */
		buf_addf(b, "+%s", s->environment);
	else
		buf_adds(b, "-");
}

/* The associated data of a team data key. */
static void
team_key_ad(char ad[64], int64_t team_id)
{
	snprintf(ad, 64, "minitower-team-key:v1|team=%lld", (long long)team_id);
}

void
secrets_team_key_seal(const struct secrets_key *mk, int64_t team_id,
    const struct secrets_key *dk, struct secrets_sealed *out)
{
	char ad[64];

	team_key_ad(ad, team_id);
	secrets_seal(mk, dk->k, SECRETS_KEY_BYTES, ad, strlen(ad), out);
}

struct secrets_key *
secrets_team_key_open(const struct secrets_key *mk, int64_t team_id,
    const struct secrets_sealed *sealed, struct err *err)
{
	struct secrets_key *dk = NULL;
	unsigned char *plain;
	size_t len;
	char ad[64];

	team_key_ad(ad, team_id);
	if (secrets_open(mk, sealed, ad, strlen(ad), &plain, &len, err) == -1)
		return NULL;
	if (len == SECRETS_KEY_BYTES) {
		dk = key_alloc();
		memcpy(dk->k, plain, SECRETS_KEY_BYTES);
	} else {
		err_set(err, ERR_INTERNAL, "secret cannot be opened");
	}
	secrets_plain_free(plain, len);
	return dk;
}

/* A team key the loaded master key does not open: `rotate-key` has probably
 * re-sealed it already. Re-reads the key file once; when the key in it opens
 * the team key, it becomes the master key (as a SIGHUP would do). */
static struct secrets_key *
team_key_after_rotation(int64_t team_id, const struct secrets_sealed *sealed, struct err *err)
{
	struct secrets_key *k, *dk = NULL;
	struct err e;
	char *path;

	pthread_rwlock_rdlock(&master_lock);
	path = master_path != NULL ? xstrdup(master_path) : NULL;
	pthread_rwlock_unlock(&master_lock);
	err_clear(&e);
	if (path != NULL && (k = secrets_key_read(path, &e)) != NULL) {
		if ((dk = secrets_team_key_open(k, team_id, sealed, &e)) != NULL) {
			pthread_rwlock_wrlock(&master_lock);
			secrets_key_free(master);
			master = k;
			pthread_rwlock_unlock(&master_lock);
			log_info("secrets key reloaded", "reason=%s", "a team key was sealed with it");
		} else {
			secrets_key_free(k);
		}
	}
	free(path);
	if (dk == NULL)
		err_set(err, ERR_UNAVAILABLE, "the secrets key does not open this team's key "
		    "(rotated? put the new key file in place)");
	return dk;
}

struct secrets_key *
secrets_team_key(int64_t team_id, const struct secrets_sealed *sealed, struct err *err)
{
	struct secrets_key *dk = NULL;
	bool loaded;

	pthread_rwlock_rdlock(&master_lock);
	loaded = master != NULL;
	if (loaded)
		dk = secrets_team_key_open(master, team_id, sealed, err);
	pthread_rwlock_unlock(&master_lock);
	if (!loaded)
		err_set(err, ERR_UNAVAILABLE, "secrets are not configured");
	else if (dk == NULL)
		dk = team_key_after_rotation(team_id, sealed, err);
	return dk;
}

int
secrets_team_key_new(int64_t team_id, struct secrets_sealed *out, struct err *err)
{
	struct secrets_key *dk;
	int rc = 0;

	pthread_rwlock_rdlock(&master_lock);
	if (master == NULL) {
		rc = err_set(err, ERR_UNAVAILABLE, "secrets are not configured");
	} else {
		dk = secrets_key_random();
		secrets_team_key_seal(master, team_id, dk, out);
		secrets_key_free(dk);
	}
	pthread_rwlock_unlock(&master_lock);
	return rc;
}

/* Names the job's environment owns (jobenv.c) or that change how it runs. */
static bool
reserved_name(const char *name, size_t len)
{
	static const char *const exact[] = { "PATH", "HOME", "TMPDIR", "LANG", "TZ", "PYTHONPATH",
		"PYTHONHOME", "VIRTUAL_ENV", "PWD", "SHELL", "USER", "IFS", NULL };
	size_t i;

	if ((len >= 10 && memcmp(name, "MINITOWER_", 10) == 0) ||
	    (len >= 3 && memcmp(name, "LD_", 3) == 0) ||
	    (len >= 6 && memcmp(name, "PYTHON", 6) == 0))
		return true;
	for (i = 0; exact[i] != NULL; i++)
		if (strlen(exact[i]) == len && memcmp(exact[i], name, len) == 0)
			return true;
	return false;
}

int
secrets_name_check(const char *name, size_t len, struct err *err)
{
	size_t i;

	if (len == 0 || len > SECRETS_NAME_MAX || (name[0] >= '0' && name[0] <= '9'))
		goto bad;
	for (i = 0; i < len; i++)
		if (!((name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= '0' && name[i] <= '9') ||
		    name[i] == '_'))
			goto bad;
	if (reserved_name(name, len))
		return err_set(err, ERR_INVALID, "secret name %.*s is reserved for the job's "
		    "environment", (int)len, name);
	return 0;
bad:
	return err_set(err, ERR_INVALID, "secret name must match ^[A-Z_][A-Z0-9_]{0,127}$");
}
