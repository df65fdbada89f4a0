/*
 * http_deadline: closes connections of clients that send their request too
 * slowly (docs/http.md). Each connection MHD accepts gets a slot (its socket
 * context) on one list; MHD's callbacks move it through idle → head → body
 * → busy → idle, and a watchdog thread looks at the list four times a second.
 * A head that is not complete header_timeout after its first byte, or a body
 * whose average rate stays below body_min_rate once body_grace has passed, has
 * its socket shut down: MHD then reads end-of-file and closes the connection
 * itself; a client that hung up mid-request is shut down the same way,
 * silently. The shutdown happens under the list mutex, which the CLOSED
 * notification also takes before it drops the slot; MHD 0.9.75 notifies
 * CLOSED before close(2), so the descriptor cannot have been reused.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "config.h"
#include "http_deadline.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define TICK_MS 250
#define MAX_CUTS_PER_TICK 64	/* the rest wait for the next tick */

enum dl_state { DL_IDLE, DL_HEAD, DL_BODY, DL_BUSY };

struct dl_conn {
	struct dl_conn	*prev, *next;
	int		 fd;
	enum dl_state	 state;
	int64_t		 since_ms;	/* monotonic: start of the head or body */
	int64_t		 body_bytes;
	uint64_t	 rx_base;	/* bytes received when it became idle */
	bool		 cut;		/* shut down, waiting for MHD to close it */
	int64_t		 gone_at_bytes;	/* body bytes when the client was seen gone; -1: not */
	char		 addr[64];
};

struct cut {
	const char	*reason;
	char		 addr[64];
	int64_t		 elapsed_ms;
	int64_t		 bytes;
};

static const struct config *cfg;
static bool enabled, running, stopping;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static pthread_t thread;
static struct dl_conn *conns;

/* Bytes the kernel has received on fd so far (TCP_INFO), or 0 when unknown.
 * Call with mu held, on a descriptor of a listed slot. */
static uint64_t
rx_bytes(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received))
		return 0;
	return ti.tcpi_bytes_received;
}

static void
client_addr(struct MHD_Connection *conn, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	snprintf(out, size, "%s", "");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    out, (socklen_t)size);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    out, (socklen_t)size);
}

static void
conn_started(struct MHD_Connection *conn, void **socket_context)
{
	const union MHD_ConnectionInfo *ci;
	struct dl_conn *d;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL)
		return;
	d = xcalloc(1, sizeof(*d));
	d->fd = ci->connect_fd;
	d->state = DL_IDLE;	/* rx_base 0: the first byte starts the head clock */
	d->gone_at_bytes = -1;
	client_addr(conn, d->addr, sizeof(d->addr));
	pthread_mutex_lock(&mu);
	d->next = conns;
	if (conns != NULL)
		conns->prev = d;
	conns = d;
	pthread_mutex_unlock(&mu);
	*socket_context = d;
}

static void
conn_closed(void **socket_context)
{
	struct dl_conn *d = *socket_context;

	if (d == NULL)
		return;
	pthread_mutex_lock(&mu);
	if (d->prev != NULL)
		d->prev->next = d->next;
	else
		conns = d->next;
	if (d->next != NULL)
		d->next->prev = d->prev;
	pthread_mutex_unlock(&mu);
	*socket_context = NULL;
	free(d);
}

void
http_deadline_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	(void)cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = NULL;
		if (enabled)
			conn_started(conn, socket_context);
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		conn_closed(socket_context);
	}
}

struct dl_conn *
http_deadline_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	if (!enabled)
		return NULL;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

void
http_deadline_request_line(struct dl_conn *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&mu);
	if (d->state == DL_IDLE) {
		d->state = DL_HEAD;
		d->since_ms = mono_ms();
		d->gone_at_bytes = -1;
	}
	pthread_mutex_unlock(&mu);
}

void
http_deadline_head_done(struct dl_conn *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&mu);
	d->state = DL_BODY;
	d->since_ms = mono_ms();
	d->body_bytes = 0;
	d->gone_at_bytes = -1;
	pthread_mutex_unlock(&mu);
}

void
http_deadline_body(struct dl_conn *d, size_t n)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&mu);
	d->body_bytes += (int64_t)n;
	pthread_mutex_unlock(&mu);
}

void
http_deadline_busy(struct dl_conn *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&mu);
	d->state = DL_BUSY;
	pthread_mutex_unlock(&mu);
}

void
http_deadline_idle(struct dl_conn *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&mu);
	d->state = DL_IDLE;
	d->rx_base = rx_bytes(d->fd);
	d->gone_at_bytes = -1;
	pthread_mutex_unlock(&mu);
}

/* The client of d hung up in the middle of its request and everything it
 * sent has been read: the request can never complete. libmicrohttpd 0.9.75
 * (epoll) can miss such a FIN and then holds the connection, and an upload's
 * temporary file, until its 30 s timeout. Seen on two ticks in a row with no
 * body progress, so that bytes MHD has read but not yet handed over are
 * never cut short. Called with mu held. */
static bool
abandoned(struct dl_conn *d)
{
	struct pollfd pfd = { .fd = d->fd, .events = POLLRDHUP };
	int unread = 0;
	bool gone;

	gone = poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0 &&
	    ioctl(d->fd, FIONREAD, &unread) == 0 && unread == 0;
	if (!gone) {
		d->gone_at_bytes = -1;
		return false;
	}
	if (d->gone_at_bytes == d->body_bytes)
		return true;
	d->gone_at_bytes = d->body_bytes;
	return false;
}

/* The reason to cut d now, or NULL. Called with mu held. */
static const char *
overdue(struct dl_conn *d, int64_t now)
{
	int64_t elapsed = now - d->since_ms;

	switch (d->state) {
	case DL_IDLE:
		/* bytes of a next request arrived, but no request line yet */
		if (cfg->header_timeout_ms > 0 && rx_bytes(d->fd) > d->rx_base) {
			d->state = DL_HEAD;
			d->since_ms = now;
		}
		return NULL;
	case DL_HEAD:
		if (abandoned(d))
			return "client_gone";
		return cfg->header_timeout_ms > 0 && elapsed >= cfg->header_timeout_ms ?
		    "header_deadline" : NULL;
	case DL_BODY:
		if (abandoned(d))
			return "client_gone";
		/* at least body_min_rate on average once the grace is over */
		if (cfg->body_min_rate > 0 && elapsed > cfg->body_grace_ms &&
		    d->body_bytes * 1000 < cfg->body_min_rate * (elapsed - cfg->body_grace_ms))
			return "body_rate";
		return NULL;
	case DL_BUSY:
		break;
	}
	return NULL;
}

/* Shuts down every overdue connection (at most max); returns how many, with
 * what to report in cuts. Called with mu held. */
static size_t
sweep(struct cut *cuts, size_t max)
{
	int64_t now = mono_ms();
	struct dl_conn *d;
	const char *why;
	size_t n = 0;

	for (d = conns; d != NULL && n < max; d = d->next) {
		if (d->cut || (why = overdue(d, now)) == NULL)
			continue;
		shutdown(d->fd, SHUT_RDWR);
		d->cut = true;
		cuts[n].reason = why;
		snprintf(cuts[n].addr, sizeof(cuts[n].addr), "%s", d->addr);
		cuts[n].elapsed_ms = now - d->since_ms;
		cuts[n].bytes = d->state == DL_BODY ? d->body_bytes : 0;
		n++;
	}
	return n;
}

static void *
watchdog(void *arg)
{
	struct cut cuts[MAX_CUTS_PER_TICK];
	struct timespec ts;
	size_t i, n;

	(void)arg;
	pthread_mutex_lock(&mu);
	while (!stopping) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&cv, &mu, &ts);
		if (stopping)
			break;
		n = sweep(cuts, MAX_CUTS_PER_TICK);
		pthread_mutex_unlock(&mu);
		for (i = 0; i < n; i++) {
			if (strcmp(cuts[i].reason, "client_gone") == 0)
				continue;	/* not slow: already gone */
			log_warn("slow client closed", "reason=%s client_addr=%s elapsed_ms=%d bytes=%d",
			    cuts[i].reason, cuts[i].addr, cuts[i].elapsed_ms, cuts[i].bytes);
			metrics_slow_client_closed(cuts[i].reason);
		}
		pthread_mutex_lock(&mu);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

int
http_deadline_start(const struct config *c, struct err *err)
{
	pthread_condattr_t ca;
	int rc;

	cfg = c;
	enabled = c->header_timeout_ms > 0 || c->body_min_rate > 0;
	if (!enabled)
		return 0;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cv, &ca);
	pthread_condattr_destroy(&ca);
	stopping = false;
	rc = pthread_create(&thread, NULL, watchdog, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&cv);
		enabled = false;
		return err_set(err, ERR_IO, "cannot start the slow-client watchdog: %s", strerror(rc));
	}
	running = true;
	return 0;
}

void
http_deadline_stop(void)
{
	struct dl_conn *d;

	if (!running)
		return;
	pthread_mutex_lock(&mu);
	stopping = true;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(thread, NULL);
	running = false;
	pthread_cond_destroy(&cv);
	while ((d = conns) != NULL) {	/* MHD stopped: nothing refers to them */
		conns = d->next;
		free(d);
	}
}
