/*
 * upload: the artifact part of a multipart upload, as libmicrohttpd's post
 * processor reports it piece by piece, written into a hashed temporary file
 * in the objects directory. No MHD types: http.c adapts its iterator, and
 * tests/fuzz/fuzz_multipart.c drives the same code.
 */
#ifndef MT_UPLOAD_H
#define MT_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

struct upload {
	const char	*dir;		/* borrowed: where the temp file goes */
	bool		 started;	/* the artifact part began */
	bool		 ignoring;	/* a later artifact part: dropped */
	bool		 io_error;	/* the temp file could not be written */
	int		 io_errno;	/* the errno of the first such failure */
	int		 fd;
	char		*path;		/* temp file, owned until upload_finish */
	crypto_hash_sha256_state sha;
	char		 sha256[65];	/* hex, set by upload_finish */
};

/* Prepares u for a new request; dir is borrowed and must outlive u. */
void upload_init(struct upload *u, const char *dir);
/* One piece of a form part, as the post processor reports it: key is the
 * field name, filename the part's file name (NULL when none), off the offset
 * of data within the part. Only the first part named "artifact" with a
 * non-empty file name is kept; everything else is ignored. Write failures
 * set io_error (the request then fails) rather than stopping the parse. */
void upload_part(struct upload *u, const char *key, const char *filename,
    const char *data, uint64_t off, size_t size);
/* Ends the upload: finishes the hash into sha256 and closes the file; a
 * failed close sets io_error. Returns the temp file's path (the caller owns
 * it and must unlink it when done), or NULL when no artifact part came or
 * its file could not be created. */
char *upload_finish(struct upload *u);
/* Closes and removes what upload_finish did not hand over. u stays valid
 * for upload_init; safe to call more than once. */
void upload_free(struct upload *u);

#endif
