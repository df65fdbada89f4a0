/*
 * archive: MiniTower's artifact handling on top of libarchive. It inspects an
 * uploaded artifact the way minitowerd must (towerfile.md §5.2-§5.4), unpacks
 * one safely on the runner (runner.md §5.4), builds the CLI's reproducible
 * tar.gz (towerfile.md §6.4-§6.5) and computes file SHA-256 digests.
 *
 * Packing and digests are in archive_pack.c. This header shadows
 * libarchive's own <archive.h> on the include path (-Isrc/lib), so it pulls
 * the real one in with #include_next: including it with angle brackets or
 * from outside src/lib gives both APIs.
 */
#ifndef MT_ARCHIVE_H
#define MT_ARCHIVE_H

#include_next <archive.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "glob.h"

#define ARCHIVE_MAX_ENTRIES_DEFAULT	100000		/* MINITOWER_MAX_ARTIFACT_ENTRIES */
#define ARCHIVE_MAX_EXPANDED_DEFAULT	1073741824LL	/* MINITOWER_MAX_ARTIFACT_EXPANDED_SIZE */
#define ARCHIVE_TOWERFILE_MAX		262144		/* bytes, towerfile.md §5.3 */

/* Size limits applied while reading an artifact. A field <= 0 means its
 * default; a NULL struct archive_limits pointer means both defaults. */
struct archive_limits {
	int64_t	max_entries;		/* more entries than this is an error */
	int64_t	max_expanded_bytes;	/* more entry content bytes is an error */
};

/* What inspecting an artifact found. */
struct archive_info {
	char	 *towerfile;		/* root Towerfile content, NUL-terminated */
	size_t	  towerfile_len;
	char	**paths;		/* cleaned names of regular-file, symlink and
					 * hard-link entries, sorted, unique */
	size_t	  npaths;
	int64_t	  entries;		/* entries read */
	int64_t	  expanded_bytes;	/* entry content bytes read */
};

/* Inspects the gzip-compressed tar at path as minitowerd does on upload
 * (towerfile.md §5.2-§5.3): reads every entry, applies lim, refuses unsafe
 * entries, finds the root Towerfile. Problems are reported in archive order;
 * the symbolic-link traversal rule is checked after the whole archive, and
 * only then a missing Towerfile. On success fills *out (free it with
 * archive_info_free) and returns 0. On failure returns -1 with err set to
 * ERR_TOWERFILE_MISSING ("artifact is not a valid gzip archive", "artifact
 * is not a valid tar archive", "Towerfile exceeds maximum size of 262144
 * bytes", "reading Towerfile from archive: <detail>", "artifact does not
 * contain a Towerfile"), ERR_INVALID_ARTIFACT ("artifact has more than <n>
 * entries", "artifact expands beyond <n> bytes", "artifact entry "<name>"
 * has an absolute path" / contains a ".." path element / is a device or
 * FIFO / links outside the artifact root / traverses a symbolic link) or
 * ERR_IO (the file cannot be opened); *out is then empty. Thread-safe. */
int archive_inspect(const char *path, const struct archive_limits *lim,
    struct archive_info *out, struct err *err);

/* As archive_inspect, reading fd from its current offset (the caller keeps
 * ownership of fd and closes it). */
int archive_inspect_fd(int fd, const struct archive_limits *lim,
    struct archive_info *out, struct err *err);

/* True when script, cleaned lexically (a leading "./" is irrelevant), equals
 * the cleaned name of a regular-file, symlink or hard-link entry
 * (towerfile.md §5.4). An absolute script never matches. */
bool archive_info_has_script(const struct archive_info *info, const char *script);

/* Releases what archive_inspect stored; *info is empty afterwards. NULL-safe. */
void archive_info_free(struct archive_info *info);

/* Unpacks the gzip-compressed tar at archive_path into the existing directory
 * dest_dir (runner.md §5.4). The whole archive is scanned first with the
 * rules of archive_inspect (no Towerfile needed), then extracted with
 * libarchive's SECURE_NODOTDOT | SECURE_SYMLINKS | SECURE_NOABSOLUTEPATHS,
 * permissions without set-uid/set-gid/sticky bits, modification times, no
 * ownership; missing parent directories get mode 0755.
 * It chdir()s into dest_dir and sets the umask while it works (both restored
 * before returning), so it MUST run in a single-threaded process or in a
 * forked child. Returns 0, or -1 with err: "unsafe archive entry "<name>":
 * <reason>" (reason: "has an absolute path", "contains a ".." path element",
 * "is a device or FIFO", "links outside the artifact root", "traverses a
 * symbolic link"), "artifact has more than <n> entries", "artifact expands
 * beyond <n> bytes", "artifact is not a valid gzip archive", "artifact is
 * not a valid tar archive", or "<name>: <libarchive or system error>". Files
 * already written are left in place on failure. */
int archive_extract(const char *archive_path, const char *dest_dir,
    const struct archive_limits *lim, struct err *err);

/* As archive_extract, reading the archive from fd (from offset 0, whatever
 * its offset; the caller keeps fd open and closes it), so that a process
 * that cannot open the file (the runner's cache, after dropping privileges)
 * can unpack it; archive_path only names it in messages. */
int archive_extract_fd(int fd, const char *archive_path, const char *dest_dir,
    const struct archive_limits *lim, struct err *err);

/* The artifact the CLI built. */
struct archive_pack_result {
	int64_t	bytes;		/* size of the gzip file */
	char	sha256[65];	/* lowercase hex SHA-256 of the gzip bytes */
};

/* Reads SOURCE_DATE_EPOCH: *out is its value, or 0 when it is unset.
 * Returns -1 with "invalid SOURCE_DATE_EPOCH" (ERR_INVALID) when it is set
 * to anything but a non-negative decimal integer that fits int64. */
int archive_source_date_epoch(int64_t *out, struct err *err);

/* Writes the reproducible artifact of towerfile.md §6.5 to out_path (created
 * or truncated, mode 0644): one entry per files->v[i] in order, read below
 * files->root; uid/gid 0, uname/gname root, every mtime = mtime, modes
 * 0755/0644 (0777 for symlinks), ustar with pax only where needed, gzip
 * level 6 with no name and a zero timestamp, no directory entries. The root
 * entry "Towerfile" is written as a regular file holding
 * towerfile[0..towerfile_len), whatever is on disk. Fills *res and returns
 * 0, or -1 with err (ERR_IO, message "<path>: <error>" style). */
int archive_pack(const struct glob_result *files, const char *towerfile,
    size_t towerfile_len, int64_t mtime, const char *out_path,
    struct archive_pack_result *res, struct err *err);

/* The CLI's whole packaging step (towerfile.md §6.2-§6.5): resolves the
 * patterns under project_dir (glob_project_files), reads SOURCE_DATE_EPOCH
 * and packs with the given Towerfile bytes. Error messages are ready for the
 * CLI's "packaging artifact: " prefix: "resolving source: <message>",
 * "script "<script>" is not matched by any source pattern", "invalid
 * SOURCE_DATE_EPOCH", or an archive_pack error. */
int archive_pack_project(const char *project_dir, const char *script,
    const char *const *patterns, size_t npatterns, const char *towerfile,
    size_t towerfile_len, const char *out_path,
    struct archive_pack_result *res, struct err *err);

/* Lowercase hex SHA-256 of the whole file at path into hex. Returns 0, or -1
 * with err (ERR_IO, "<path>: <error>"). Calls sodium_init() itself. */
int archive_sha256_file(const char *path, char hex[65], struct err *err);

#endif
