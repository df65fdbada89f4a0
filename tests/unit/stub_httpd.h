/*
 * stub_httpd: a tiny HTTP/1.1 server for unit tests of HTTP clients. It runs
 * on 127.0.0.1 (random port) in threads of the test, reads requests with a
 * Content-Length body, records every request head, and lets the test's
 * handler write any response (or none) on the raw socket. Header-only
 * (static functions) so each test binary gets its own copy.
 */
#ifndef STUB_HTTPD_H
#define STUB_HTTPD_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

#define STUB_MAX_CONNS	64
#define STUB_MAX_REQS	256
#define STUB_FN		static __attribute__((unused))

/* One received request, as the handler sees it. */
struct stub_req {
	int		 n;		/* index of the request since stub_start */
	const char	*head;		/* request line and headers */
	const char	*path;
	const char	*body;
	size_t		 body_len;
};

/* Writes the response on fd; returns 0 to keep the connection, -1 to close. */
typedef int stub_handler_fn(int fd, const struct stub_req *r);

static struct {
	int		 lfd;
	int		 port;
	pthread_t	 acceptor;
	pthread_t	 conns[STUB_MAX_CONNS];
	int		 nconns;
	pthread_mutex_t	 mu;
	stub_handler_fn	*handler;
	char		*heads[STUB_MAX_REQS];
	char		*bodies[STUB_MAX_REQS];
	size_t		 body_lens[STUB_MAX_REQS];
	int		 nreqs;
} stub;

STUB_FN int
stub_send(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

__attribute__((format(printf, 2, 3))) STUB_FN int
stub_sendf(int fd, const char *fmt, ...)
{
	char *s;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -1;
	rc = stub_send(fd, s, strlen(s));
	free(s);
	return rc;
}

/* Waits (at most ~10 s) until the peer closes the connection. */
STUB_FN void
stub_wait_close(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c[512];

	for (int i = 0; i < 100; i++)
		if (poll(&p, 1, 100) > 0 && recv(fd, c, sizeof(c), 0) <= 0)
			return;
}

/* Reads one request; returns 0, or -1 at EOF or error. */
STUB_FN int
stub_read(int fd, char **head, char **body, size_t *body_len)
{
	size_t cap = 1 << 16, len = 0, hlen, clen = 0;
	char *b = xmalloc(cap), *end, *cl;

	for (;;) {
		ssize_t r;

		b[len] = '\0';
		end = strstr(b, "\r\n\r\n");
		if (end != NULL)
			break;
		if (len + 1 >= cap)
			goto fail;
		r = recv(fd, b + len, cap - 1 - len, 0);
		if (r <= 0)
			goto fail;
		len += (size_t)r;
	}
	hlen = (size_t)(end - b) + 4;
	cl = strcasestr(b, "\r\nContent-Length:");
	if (cl != NULL && cl < end)
		clen = strtoul(cl + 17, NULL, 10);
	if (hlen + clen + 1 > cap) {
		cap = hlen + clen + 1;
		b = xrealloc(b, cap);
	}
	while (len < hlen + clen) {
		ssize_t r = recv(fd, b + len, hlen + clen - len, 0);

		if (r <= 0)
			goto fail;
		len += (size_t)r;
	}
	*head = xstrndup(b, hlen);
	*body = xmalloc(clen + 1);
	memcpy(*body, b + hlen, clen);
	(*body)[clen] = '\0';
	*body_len = clen;
	free(b);
	return 0;
fail:
	free(b);
	return -1;
}

STUB_FN void *
stub_conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char *head, *body, path[512];
	size_t body_len;

	while (stub_read(fd, &head, &body, &body_len) == 0) {
		struct stub_req r = { .head = head, .path = path, .body = body, .body_len = body_len };
		int rc;

		path[0] = '\0';
		sscanf(head, "%*s %511s", path);
		pthread_mutex_lock(&stub.mu);
		r.n = stub.nreqs;
		if (stub.nreqs < STUB_MAX_REQS) {
			stub.heads[stub.nreqs] = xstrdup(head);
			stub.bodies[stub.nreqs] = xmalloc(body_len + 1);
			memcpy(stub.bodies[stub.nreqs], body, body_len + 1);
			stub.body_lens[stub.nreqs] = body_len;
			stub.nreqs++;
		}
		pthread_mutex_unlock(&stub.mu);
		rc = stub.handler(fd, &r);
		free(head);
		free(body);
		if (rc == -1)
			break;
	}
	close(fd);
	return NULL;
}

STUB_FN void *
stub_accept_main(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(stub.lfd, NULL, NULL);

		if (fd < 0)
			return NULL;
		pthread_mutex_lock(&stub.mu);
		if (stub.nconns == STUB_MAX_CONNS) {
			pthread_mutex_unlock(&stub.mu);
			close(fd);
			continue;
		}
		pthread_create(&stub.conns[stub.nconns++], NULL, stub_conn_main, (void *)(intptr_t)fd);
		pthread_mutex_unlock(&stub.mu);
	}
}

/* Starts the server with handler; returns 0 or -1. */
STUB_FN int
stub_start(stub_handler_fn *handler)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int one = 1;

	memset(&stub, 0, sizeof(stub));
	pthread_mutex_init(&stub.mu, NULL);
	stub.handler = handler;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	stub.lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(stub.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(stub.lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(stub.lfd, 16) != 0)
		return -1;
	getsockname(stub.lfd, (struct sockaddr *)&a, &alen);
	stub.port = ntohs(a.sin_port);
	return pthread_create(&stub.acceptor, NULL, stub_accept_main, NULL) == 0 ? 0 : -1;
}

/* Stops accepting, joins every connection (clients must have closed). */
STUB_FN void
stub_stop(void)
{
	shutdown(stub.lfd, SHUT_RDWR);
	close(stub.lfd);
	pthread_join(stub.acceptor, NULL);
	for (int i = 0; i < stub.nconns; i++)
		pthread_join(stub.conns[i], NULL);
	for (int i = 0; i < stub.nreqs; i++) {
		free(stub.heads[i]);
		free(stub.bodies[i]);
	}
	pthread_mutex_destroy(&stub.mu);
}

/* Number of requests / connections so far. */
STUB_FN int
stub_nreqs(void)
{
	int n;

	pthread_mutex_lock(&stub.mu);
	n = stub.nreqs;
	pthread_mutex_unlock(&stub.mu);
	return n;
}

STUB_FN int
stub_nconns(void)
{
	int n;

	pthread_mutex_lock(&stub.mu);
	n = stub.nconns;
	pthread_mutex_unlock(&stub.mu);
	return n;
}

/* Copies of request i's head and body (caller frees); i < 0 counts from the
 * end (-1 = the last request). */
STUB_FN char *
stub_head(int i)
{
	char *s;

	pthread_mutex_lock(&stub.mu);
	if (i < 0)
		i += stub.nreqs;
	s = xstrdup(i >= 0 && i < stub.nreqs ? stub.heads[i] : "");
	pthread_mutex_unlock(&stub.mu);
	return s;
}

STUB_FN char *
stub_body(int i, size_t *len)
{
	char *s;

	pthread_mutex_lock(&stub.mu);
	if (i < 0)
		i += stub.nreqs;
	*len = i >= 0 && i < stub.nreqs ? stub.body_lens[i] : 0;
	s = xmalloc(*len + 1);
	memcpy(s, i >= 0 && i < stub.nreqs ? stub.bodies[i] : "", *len + 1);
	pthread_mutex_unlock(&stub.mu);
	return s;
}

/* "http://127.0.0.1:<port>" into out. */
STUB_FN void
stub_url(char *out, size_t outsz)
{
	snprintf(out, outsz, "http://127.0.0.1:%d", stub.port);
}

#endif
