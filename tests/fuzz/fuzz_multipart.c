/*
 * fuzz_multipart: libFuzzer target for artifact uploads - libmicrohttpd's
 * multipart post processor feeding src/server/upload.c, wired as http.c
 * wires them (same buffer size, same byte limit before the parser, same
 * iterator). MHD 0.9.75 cannot create a post processor without a
 * connection, so one in-process daemon on 127.0.0.1 is started on the first
 * input and each input is POSTed to it over a kept-alive socket: byte 0
 * picks the Content-Type spelling, the rest is the body. The oracle: the
 * kept temp file hashes to the SHA-256 upload.c computed, and nothing is
 * left in the objects directory. Build and run:
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc/lib -Isrc/server \
 *     tests/fuzz/fuzz_multipart.c src/server/upload.c src/lib/{crypto,util,err,buf}.c \
 *     $(pkg-config --cflags --libs libmicrohttpd libsodium jansson) -lcrypt -lpthread -lm \
 *     -o build/fuzz_multipart
 *   build/fuzz_multipart -max_len=65536 -timeout=10
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "upload.h"
#include "util.h"

#define BODY_LIMIT (256 * 1024)	/* http.c's limit is MINITOWER_MAX_ARTIFACT_SIZE */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	struct upload	 up;
	struct MHD_PostProcessor *pp;
	size_t		 bytes;
	bool		 bad, too_large;
};

static char objects[] = "/tmp/fuzz-multipart-XXXXXX";
static struct MHD_Daemon *daemon_;
static uint16_t port;
static int sock = -1;

static const char *const ctypes[] = {
	"multipart/form-data; boundary=fzb",
	"multipart/form-data; boundary=\"fz b\"",
	"multipart/form-data; charset=utf-8; boundary=fzb",
	"multipart/form-data",
	"Multipart/Form-Data; BOUNDARY=fzb",
};

static enum MHD_Result
post_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
    const char *content_type, const char *transfer_encoding, const char *data,
    uint64_t off, size_t size)
{
	struct fz *f = cls;

	(void)kind; (void)content_type; (void)transfer_encoding;
	upload_part(&f->up, key, filename, data, off, size);
	return MHD_YES;
}

/* The kept file must hash to what upload.c computed while writing it. */
static void
check_file(const char *path, const struct upload *u)
{
	unsigned char buf[65536], d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	char hex[65];
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (fp == NULL)
		abort();
	crypto_hash_sha256_init(&st);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		crypto_hash_sha256_update(&st, buf, n);
	fclose(fp);
	crypto_hash_sha256_final(&st, d);
	hex_encode(d, sizeof(d), hex);
	if (!u->io_error && strcmp(hex, u->sha256) != 0)
		abort();
}

static enum MHD_Result
respond(struct MHD_Connection *conn, unsigned status)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(2, (void *)(uintptr_t)"ok",
	    MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret = MHD_queue_response(conn, status, r);

	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct fz *f = *con_cls;
	char *path;

	(void)cls; (void)url; (void)method; (void)version;
	if (f == NULL) {
		f = xcalloc(1, sizeof(*f));
		upload_init(&f->up, objects);
		*con_cls = f;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		f->bytes += *upload_data_size;
		if (f->bytes > BODY_LIMIT)
			f->too_large = true;
		else if (!f->bad) {
			if (f->pp == NULL)
				f->pp = MHD_create_post_processor(conn, 64 * 1024, post_iter, f);
			if (f->pp == NULL || MHD_post_process(f->pp, upload_data,
			    *upload_data_size) != MHD_YES)
				f->bad = true;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (f->pp != NULL) {
		MHD_destroy_post_processor(f->pp);
		f->pp = NULL;
	}
	path = upload_finish(&f->up);
	if (path != NULL) {
		check_file(path, &f->up);
		unlink(path);
		free(path);
	}
	return respond(conn, f->too_large ? 413 : f->bad ? 400 : 200);
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct fz *f = *con_cls;

	(void)cls; (void)conn; (void)toe;
	if (f == NULL)
		return;
	if (f->pp != NULL)
		MHD_destroy_post_processor(f->pp);
	upload_free(&f->up);
	free(f);
	*con_cls = NULL;
}

static void
start(void)
{
	const union MHD_DaemonInfo *di;

	if (sodium_init() < 0 || mkdtemp(objects) == NULL)
		abort();
	daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL,
	    0, NULL, NULL, handler, NULL,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
	if (daemon_ == NULL)
		abort();
	di = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
	port = di->port;
}

static int
dial(void)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		abort();
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static bool
send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w <= 0)
			return false;
		c += w;
		n -= (size_t)w;
	}
	return true;
}

/* Reads one response (our handler always answers with a 2-byte body);
 * returns false when the connection ended instead. */
static bool
read_reply(int fd)
{
	char buf[4096];
	size_t len = 0;
	char *end;

	for (;;) {
		ssize_t r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (r <= 0)
			return false;
		len += (size_t)r;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end != NULL && (size_t)(end + 4 - buf) + 2 <= len)
			return strstr(buf, "Connection: close") == NULL;
		if (len == sizeof(buf) - 1)
			return false;
	}
}

static void
post(const char *ctype, const uint8_t *body, size_t n)
{
	char head[512];
	int hn = snprintf(head, sizeof(head), "POST /u HTTP/1.1\r\nHost: f\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n", ctype, n);

	if (sock < 0)
		sock = dial();
	if (!send_all(sock, head, (size_t)hn) || !send_all(sock, body, n) || !read_reply(sock)) {
		close(sock);
		sock = -1;
	}
}

/* Nothing may stay behind in the objects directory. */
static void
check_dir_empty(void)
{
	DIR *d = opendir(objects);
	struct dirent *e;

	if (d == NULL)
		abort();
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			abort();
	closedir(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (daemon_ == NULL)
		start();
	if (size == 0)
		return 0;
	post(ctypes[data[0] % (sizeof(ctypes) / sizeof(ctypes[0]))], data + 1, size - 1);
	if (sock >= 0)
		check_dir_empty();
	return 0;
}
