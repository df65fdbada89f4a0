/*
 * rhttp: libcurl glue for the runner. Connections are reused per handle;
 * every request sets its own timeouts; headers are captured by name into
 * fixed fields; a download streams to a descriptor through a SHA-256 state
 * so the digest is ready when the transfer ends.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rhttp.h"
#include "util.h"

struct rhttp {
	CURL		*curl;
	char		*base;
	pthread_mutex_t	 mu;	/* guards sock */
	int		 sock;	/* the connection's socket, -1 when none */
};

struct xfer {
	struct rhttp_resp	*resp;
	const struct rhttp_req	*req;
	CURL			*curl;
	crypto_hash_sha256_state sha;
	bool			 write_failed;
	bool			 aborted;
};

void
rhttp_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (sodium_init() < 0)
		abort();
}

struct rhttp *
rhttp_new(const char *base_url)
{
	struct rhttp *h = xcalloc(1, sizeof(*h));

	h->curl = curl_easy_init();
	if (h->curl == NULL)
		abort();
	h->base = xstrdup(base_url);
	pthread_mutex_init(&h->mu, NULL);
	h->sock = -1;
	return h;
}

/* Socket callbacks: remember the socket so rhttp_interrupt can shut it. */
static curl_socket_t
on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct rhttp *h = arg;
	int fd;

	(void)purpose;
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (fd == -1)
		return CURL_SOCKET_BAD;
	pthread_mutex_lock(&h->mu);
	h->sock = fd;
	pthread_mutex_unlock(&h->mu);
	return fd;
}

static int
on_close(void *arg, curl_socket_t fd)
{
	struct rhttp *h = arg;

	pthread_mutex_lock(&h->mu);
	if (h->sock == fd)
		h->sock = -1;
	pthread_mutex_unlock(&h->mu);
	return close(fd);
}

void
rhttp_interrupt(struct rhttp *h)
{
	pthread_mutex_lock(&h->mu);
	if (h->sock >= 0)
		shutdown(h->sock, SHUT_RDWR);
	pthread_mutex_unlock(&h->mu);
}

void
rhttp_free(struct rhttp *h)
{
	if (h == NULL)
		return;
	curl_easy_cleanup(h->curl);
	pthread_mutex_destroy(&h->mu);
	free(h->base);
	free(h);
}

void
rhttp_resp_init(struct rhttp_resp *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, 1024 * 1024);
}

void
rhttp_resp_free(struct rhttp_resp *r)
{
	buf_free(&r->body);
}

static void
copy_header(char *dst, size_t dstsz, const char *v, size_t n)
{
	while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	if (n >= dstsz)
		n = dstsz - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t
on_header(char *p, size_t size, size_t nitems, void *arg)
{
	struct xfer *x = arg;
	struct rhttp_resp *r = x->resp;
	size_t n = size * nitems;
	const char *colon = memchr(p, ':', n);
	size_t klen;

	if (colon == NULL)
		return n;
	klen = (size_t)(colon - p);
#define HDR(name, field) \
	if (klen == sizeof(name) - 1 && strncasecmp(p, name, klen) == 0) \
		copy_header(r->field, sizeof(r->field), colon + 1, n - klen - 1)
	HDR("X-Lease-Remaining-Ms", lease_remaining);
	HDR("Date", date);
	HDR("X-Artifact-SHA256", artifact_sha256);
	if (klen == 14 && strncasecmp(p, "X-Import-Paths", 14) == 0) {
		copy_header(r->import_paths, sizeof(r->import_paths), colon + 1, n - klen - 1);
		r->import_paths_seen = true;
	}
#undef HDR
	return n;
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb, off = 0;
	long status = 0;

	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
	if (x->req->download_fd < 0 || status < 200 || status > 299) {
		buf_add(&x->resp->body, p, n);	/* bounded: extra is dropped */
		return n;
	}
	crypto_hash_sha256_update(&x->sha, (const unsigned char *)p, n);
	while (off < n) {
		ssize_t w = write(x->req->download_fd, p + off, n - off);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			x->write_failed = true;
			return 0;
		}
		off += (size_t)w;
	}
	x->resp->downloaded += (int64_t)n;
	return n;
}

static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct xfer *x = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	if (x->req->abort != NULL && x->req->abort(x->req->abort_arg)) {
		x->aborted = true;
		return 1;
	}
	return 0;
}

static struct curl_slist *
build_headers(const struct rhttp_req *req)
{
	struct curl_slist *hl = NULL;
	char *line;

	if (req->bearer != NULL) {
		line = xasprintf("Authorization: Bearer %s", req->bearer);
		hl = curl_slist_append(hl, line);
		free(line);
	}
	if (req->lease_token != NULL) {
		line = xasprintf("X-Lease-Token: %s", req->lease_token);
		hl = curl_slist_append(hl, line);
		free(line);
	}
	if (req->body != NULL)
		hl = curl_slist_append(hl, "Content-Type: application/json");
	hl = curl_slist_append(hl, "Expect:");
	return hl;
}

static void
setup(struct rhttp *h, const struct rhttp_req *req, struct xfer *x, const char *url,
    struct curl_slist *hl)
{
	CURL *c = h->curl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, h);
	curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, on_close);
	curl_easy_setopt(c, CURLOPT_CLOSESOCKETDATA, h);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	if (strcmp(req->method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(req->body != NULL ? req->body_len : 0));
	}
	if (req->low_speed) {
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
	}
}

int
rhttp_do(struct rhttp *h, const struct rhttp_req *req, struct rhttp_resp *resp,
    struct err *err)
{
	struct curl_slist *hl = build_headers(req);
	struct xfer x;
	unsigned char dig[crypto_hash_sha256_BYTES];
	char *url = xasprintf("%s%s", h->base, req->path);
	CURLcode rc;
	int ret = RHTTP_OK;

	buf_reset(&resp->body);
	resp->status = 0;
	resp->lease_remaining[0] = resp->date[0] = resp->artifact_sha256[0] = '\0';
	resp->import_paths[0] = resp->sha256_hex[0] = '\0';
	resp->import_paths_seen = false;
	resp->downloaded = 0;
	memset(&x, 0, sizeof(x));
	x.resp = resp;
	x.req = req;
	x.curl = h->curl;
	crypto_hash_sha256_init(&x.sha);
	setup(h, req, &x, url, hl);
	rc = curl_easy_perform(h->curl);
	if (!x.aborted && rc != CURLE_OK && req->abort != NULL && req->abort(req->abort_arg))
		x.aborted = true;	/* interrupted: the socket was shut down */
	if (x.aborted) {
		ret = RHTTP_ABORTED;
		err_set(err, ERR_IO, "aborted");
	} else if (rc != CURLE_OK) {
		ret = RHTTP_FAIL;
		err_set(err, ERR_IO, "%s", x.write_failed ? "write to disk failed" :
		    curl_easy_strerror(rc));
	} else {
		curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
		crypto_hash_sha256_final(&x.sha, dig);
		hex_encode(dig, sizeof(dig), resp->sha256_hex);
	}
	curl_slist_free_all(hl);
	free(url);
	return ret;
}

void
rhttp_status_text(const struct rhttp_resp *r, char *out, size_t outsz)
{
	char body[1024];
	size_t n = r->body.len < sizeof(body) - 1 ? r->body.len : sizeof(body) - 1;

	memcpy(body, buf_str(&r->body), n);
	body[n] = '\0';
	snprintf(out, outsz, "%ld %s", r->status, str_trim(body));
}

bool
rhttp_retryable(const struct rhttp_resp *r, bool artifact)
{
	if (r->status == 429)
		return true;
	if (r->status < 500)
		return false;
	if (artifact && r->status == 500 &&
	    strstr(buf_str(&r->body), "artifact not found") != NULL)
		return false;
	return true;
}
