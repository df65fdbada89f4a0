/*
 * Tests for archive: inspection (every unsafe-entry kind and its message,
 * limits, Towerfile detection and size, script presence, gzip/tar errors,
 * ordering), extraction (refusals, limits, modes, links), reproducible
 * packing and file digests. Fixture archives are written with libarchive
 * into a mkdtemp directory, which each test removes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <archive.h>		/* ours; it includes libarchive's */
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "util.h"
#include "tmpdir.h"

/* ---- fixtures ----------------------------------------------------------- */

static int
setup(void **state)
{
	(void)state;
	tmpdir_setup("/tmp/mt-archive-XXXXXX");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tmpdir_teardown();
	unsetenv("SOURCE_DATE_EPOCH");
	return 0;
}

static char *
tpath(const char *rel)
{
	return xasprintf("%s/%s", tmp, rel);
}

/* One fixture entry. type: 'f' file, 'd' dir, 'l' symlink, 'h' hard link,
 * 'c' char device, 'b' block device, 'p' FIFO. */
struct tent {
	const char	*name;
	char		 type;
	const char	*data;		/* file content or link target */
	int64_t		 size;		/* file size when data is NULL */
	int		 mode;		/* 0: 0644 / 0755 for dirs */
};

/* Writes ents as a tar (gzip-compressed unless plain) to tmp/rel and
 * returns the path (caller frees). */
static char *
make_archive(const char *rel, const struct tent *ents, size_t n, bool plain)
{
	char *path = tpath(rel);
	struct archive *a = archive_write_new();

	if (!plain)
		archive_write_add_filter_gzip(a);
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		const struct tent *t = &ents[i];
		int64_t size = t->data && t->type == 'f' ? (int64_t)strlen(t->data) : t->size;

		archive_entry_set_pathname(e, t->name);
		archive_entry_set_mtime(e, 1000000000, 0);
		archive_entry_set_perm(e, t->mode ? t->mode : t->type == 'd' ? 0755 : 0644);
		switch (t->type) {
		case 'f':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_size(e, size);
			break;
		case 'd':
			archive_entry_set_filetype(e, AE_IFDIR);
			break;
		case 'l':
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, t->data);
			break;
		case 'h':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, t->data);
			break;
		case 'c':
		case 'b':
			archive_entry_set_filetype(e, t->type == 'c' ? AE_IFCHR : AE_IFBLK);
			archive_entry_set_rdev(e, makedev(1, 3));
			break;
		case 'p':
			archive_entry_set_filetype(e, AE_IFIFO);
			break;
		}
		assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
		if (t->type == 'f' && t->data != NULL) {
			archive_write_data(a, t->data, strlen(t->data));
		} else if (t->type == 'f') {
			char zeros[4096] = {0};

			for (int64_t left = size; left > 0; left -= (int64_t)sizeof(zeros))
				archive_write_data(a, zeros, left < (int64_t)sizeof(zeros) ?
				    (size_t)left : sizeof(zeros));
		}
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return path;
}

static void
write_bytes(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char blk[4096];
	size_t n;

	assert_non_null(f);
	buf_init(&b, 1 << 28);
	while ((n = fread(blk, 1, sizeof(blk), f)) > 0)
		buf_add(&b, blk, n);
	fclose(f);
	if (len)
		*len = b.len;
	if (b.data == NULL)
		return xstrdup("");
	return buf_take(&b);
}

/* gzip-compresses src into dst (for hand-made broken streams). */
static void
gzip_file(const char *src, const char *dst)
{
	size_t n;
	char *data = read_file(src, &n);
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	archive_write_add_filter_gzip(a);
	archive_write_set_format_raw(a);
	assert_int_equal(archive_write_open_filename(a, dst), ARCHIVE_OK);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_pathname(e, "x");
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	if (n > 0)
		assert_int_equal(archive_write_data(a, data, n), (la_ssize_t)n);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(e);
	free(data);
}

/* The decompressed bytes of the gzip file at path. */
static char *
gunzip_file(const char *path, size_t *len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct buf b;
	char blk[4096];
	la_ssize_t n;

	archive_read_support_filter_gzip(a);
	archive_read_support_format_raw(a);
	assert_int_equal(archive_read_open_filename(a, path, 4096), ARCHIVE_OK);
	assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
	buf_init(&b, 1 << 28);
	while ((n = archive_read_data(a, blk, sizeof(blk))) > 0)
		buf_add(&b, blk, (size_t)n);
	assert_int_equal(n, 0);
	archive_read_free(a);
	*len = b.len;
	return b.data ? buf_take(&b) : xstrdup("");
}

static const char *TF = "[app]\nname = \"hello\"\nscript = \"main.py\"\n";

/* Inspects path with the given limits; returns "OK" or "<code> <msg>". */
static char *
inspect(const char *path, int64_t max_entries, int64_t max_bytes)
{
	struct archive_limits lim = {max_entries, max_bytes};
	struct archive_info info;
	struct err err = {0};

	if (archive_inspect(path, &lim, &info, &err) != 0) {
		assert_null(info.towerfile);
		assert_null(info.paths);
		return xasprintf("%d %s", err.code, err.msg);
	}
	archive_info_free(&info);
	return xstrdup("OK");
}

static void
check_inspect(const struct tent *ents, size_t n, const char *want_msg, int want_code)
{
	char *path = make_archive("a.tar.gz", ents, n, false);
	char *got = inspect(path, 0, 0);
	char *want = want_code ? xasprintf("%d %s", want_code, want_msg) : xstrdup("OK");

	assert_string_equal(got, want);
	free(want);
	free(got);
	free(path);
}

/* Compares an inspect() result with code and msg (code 0: "OK"); frees got. */
static void
expect(char *got, int code, const char *msg)
{
	char *want = code ? xasprintf("%d %s", code, msg) : xstrdup("OK");

	assert_string_equal(got, want);
	free(want);
	free(got);
}

#define NE(a) (sizeof(a) / sizeof((a)[0]))
#define IA ERR_INVALID_ARTIFACT
#define TM ERR_TOWERFILE_MISSING

/* ---- inspection: accepted archives --------------------------------------- */

static void
test_inspect_ok(void **state)
{
	const struct tent ents[] = {
		{"./", 'd', NULL, 0, 0},
		{"./main.py", 'f', "print(1)\n", 0, 0},
		{"./Towerfile", 'f', NULL, 0, 0},	/* data filled below */
		{"lib/", 'd', NULL, 0, 0},
		{"lib/util.py", 'f', "x = 1\n", 0, 0},
		{"lib//helper.py", 'f', "", 0, 0},
		{"alias.py", 'l', "lib/util.py", 0, 0},
		{"lib/up.py", 'l', "../main.py", 0, 0},
		{"hard.py", 'h', "lib/util.py", 0, 0},
		{"\xc3\xa9t\xc3\xa9.py", 'f', "", 0, 0},
	};
	struct tent copy[NE(ents)];
	struct archive_info info;
	struct err err = {0};
	char *path;

	(void)state;
	memcpy(copy, ents, sizeof(ents));
	copy[2].data = TF;
	path = make_archive("ok.tar.gz", copy, NE(copy), false);
	assert_int_equal(archive_inspect(path, NULL, &info, &err), 0);
	assert_string_equal(info.towerfile, TF);
	assert_int_equal(info.towerfile_len, strlen(TF));
	assert_int_equal(info.entries, NE(ents));
	assert_int_equal(info.expanded_bytes, strlen(TF) + 9 + 6);
	assert_int_equal(info.npaths, 8);
	assert_string_equal(info.paths[0], "Towerfile");
	assert_true(archive_info_has_script(&info, "main.py"));
	assert_true(archive_info_has_script(&info, "./main.py"));
	assert_true(archive_info_has_script(&info, "lib/../main.py"));
	assert_true(archive_info_has_script(&info, "alias.py"));
	assert_true(archive_info_has_script(&info, "hard.py"));
	assert_true(archive_info_has_script(&info, "lib/helper.py"));
	assert_true(archive_info_has_script(&info, "\xc3\xa9t\xc3\xa9.py"));
	assert_false(archive_info_has_script(&info, "/main.py"));
	assert_false(archive_info_has_script(&info, "lib"));	/* a directory */
	assert_false(archive_info_has_script(&info, "other.py"));
	assert_false(archive_info_has_script(&info, "Main.py"));
	archive_info_free(&info);
	archive_info_free(&info);
	archive_info_free(NULL);
	free(path);
}

static void
test_inspect_fd(void **state)
{
	const struct tent ents[] = {{"Towerfile", 'f', "x", 0, 0}};
	char *path = make_archive("a.tar.gz", ents, 1, false);
	struct archive_info info;
	struct err err = {0};
	int fd = open(path, O_RDONLY);

	(void)state;
	assert_int_equal(archive_inspect_fd(fd, NULL, &info, &err), 0);
	assert_string_equal(info.towerfile, "x");
	archive_info_free(&info);
	close(fd);
	free(path);
}

static void
test_towerfile_detection(void **state)
{
	const struct tent later[] = {
		{"main.py", 'f', "", 0, 0},
		{"Towerfile", 'f', "first", 0, 0},
		{"./Towerfile", 'f', "second", 0, 0},
	};
	const struct tent not_root[] = {
		{"sub/Towerfile", 'f', "x", 0, 0},
		{"towerfile", 'f', "x", 0, 0},
		{"././Towerfile", 'f', "x", 0, 0},	/* only one ./ is removed */
		{"Towerfile/", 'd', NULL, 0, 0},
	};
	const struct tent link_first[] = {
		{"real", 'f', "real", 0, 0},
		{"Towerfile", 'l', "real", 0, 0},
		{"Towerfile", 'h', "real", 0, 0},
		{"./Towerfile", 'f', "regular", 0, 0},
	};
	struct archive_info info;
	struct err err = {0};
	char *path;

	(void)state;
	path = make_archive("later.tar.gz", later, NE(later), false);
	assert_int_equal(archive_inspect(path, NULL, &info, &err), 0);
	assert_string_equal(info.towerfile, "first");
	archive_info_free(&info);
	free(path);

	check_inspect(not_root, NE(not_root), "artifact does not contain a Towerfile", TM);

	path = make_archive("links.tar.gz", link_first, NE(link_first), false);
	assert_int_equal(archive_inspect(path, NULL, &info, &err), 0);
	assert_string_equal(info.towerfile, "regular");
	archive_info_free(&info);
	free(path);
}

static void
test_towerfile_size(void **state)
{
	const struct tent max[] = {{"Towerfile", 'f', NULL, 262144, 0}};
	const struct tent over[] = {{"Towerfile", 'f', NULL, 262145, 0}};
	/* a later Towerfile of any size is ignored */
	const struct tent second[] = {
		{"Towerfile", 'f', "ok", 0, 0},
		{"Towerfile", 'f', NULL, 300000, 0},
	};
	struct archive_info info;
	struct err err = {0};
	char *path;

	(void)state;
	path = make_archive("max.tar.gz", max, 1, false);
	assert_int_equal(archive_inspect(path, NULL, &info, &err), 0);
	assert_int_equal(info.towerfile_len, 262144);
	archive_info_free(&info);
	free(path);
	check_inspect(over, 1, "Towerfile exceeds maximum size of 262144 bytes", TM);
	check_inspect(second, 2, NULL, 0);
}

static void
test_towerfile_read_error(void **state)
{
	const struct tent ents[] = {{"Towerfile", 'f', NULL, 100000, 0}};
	char *tar = make_archive("a.tar", ents, 1, true), *gz = tpath("cut.tar.gz");
	char *got, *want;

	(void)state;
	assert_int_equal(truncate(tar, 512 + 5000), 0);	/* inside the content */
	gzip_file(tar, gz);
	got = inspect(gz, 0, 0);
	want = xasprintf("%d reading Towerfile from archive: ", TM);
	assert_int_equal(strncmp(got, want, strlen(want)), 0);
	assert_true(strlen(got) > strlen(want));
	free(want);
	free(got);
	free(gz);
	free(tar);
}

/* ---- inspection: format errors -------------------------------------------- */

static void
test_not_gzip(void **state)
{
	const struct tent ents[] = {{"Towerfile", 'f', "x", 0, 0}};
	char *plain = make_archive("plain.tar", ents, 1, true);
	char *junk = tpath("junk"), *empty = tpath("empty"), *zip = tpath("a.zip");
	char *want = xasprintf("%d artifact is not a valid gzip archive", TM), *got;

	(void)state;
	write_bytes(junk, "hello, this is not an archive at all\n", 37);
	write_bytes(empty, "", 0);
	write_bytes(zip, "PK\003\004\024\000\000\000\000\000", 10);
	got = inspect(plain, 0, 0);
	assert_string_equal(got, want);
	free(got);
	got = inspect(junk, 0, 0);
	assert_string_equal(got, want);
	free(got);
	got = inspect(empty, 0, 0);
	assert_string_equal(got, want);
	free(got);
	got = inspect(zip, 0, 0);
	assert_string_equal(got, want);
	free(got);
	free(want);
	free(plain);
	free(junk);
	free(empty);
	free(zip);
}

static void
test_not_tar(void **state)
{
	const struct tent ents[] = {
		{"Towerfile", 'f', "x", 0, 0},
		{"big", 'f', NULL, 20000, 0},
	};
	char *text = tpath("text"), *textgz = tpath("text.gz");
	char *tgz = make_archive("a.tar.gz", ents, 2, false), *twice = tpath("b.tar.gz.gz");
	char *tar = make_archive("a.tar", ents, 2, true), *cutgz = tpath("cut.tar.gz");
	char *want = xasprintf("%d artifact is not a valid tar archive", TM), *got;
	char *raw;
	size_t n;

	(void)state;
	write_bytes(text, "just some text that is long enough to need a header\n", 52);
	gzip_file(text, textgz);
	got = inspect(textgz, 0, 0);
	assert_string_equal(got, want);
	free(got);
	gzip_file(tgz, twice);			/* gzip of a gzip */
	got = inspect(twice, 0, 0);
	assert_string_equal(got, want);
	free(got);
	assert_int_equal(truncate(tar, 512 * 3 + 3000), 0);	/* inside "big" */
	gzip_file(tar, cutgz);
	got = inspect(cutgz, 0, 0);
	assert_string_equal(got, want);
	free(got);
	/* a corrupt deflate stream after a good gzip header */
	raw = read_file(tgz, &n);
	for (size_t i = 20; i < n - 8; i++)
		raw[i] ^= 0x5a;
	write_bytes(tgz, raw, n);
	got = inspect(tgz, 0, 0);
	assert_string_equal(got, want);
	free(got);
	free(raw);
	free(want);
	free(text);
	free(textgz);
	free(tgz);
	free(twice);
	free(tar);
	free(cutgz);
}

static void
test_damaged_header(void **state)
{
	/* libarchive reports a header checksum mismatch as RETRY */
	const struct tent two[] = {{"Towerfile", 'f', "x", 0, 0}, {"g", 'f', "y", 0, 0}};
	char *tar = make_archive("two.tar", two, 2, true), *gz = tpath("two.tar.gz");
	char *raw;
	size_t n;

	(void)state;
	raw = read_file(tar, &n);
	raw[1024 + 5] ^= 0x41;		/* the second header's name */
	write_bytes(tar, raw, n);
	free(raw);
	gzip_file(tar, gz);
	expect(inspect(gz, 0, 0), TM, "artifact is not a valid tar archive");
	free(tar);
	free(gz);
}

static void
test_empty_archives(void **state)
{
	char *empty = tpath("empty"), *gz = tpath("empty.gz"), *got;
	char *want = xasprintf("%d artifact does not contain a Towerfile", TM);
	char *tar;

	(void)state;
	write_bytes(empty, "", 0);
	gzip_file(empty, gz);
	got = inspect(gz, 0, 0);
	assert_string_equal(got, want);
	free(got);
	tar = make_archive("none.tar.gz", NULL, 0, false);
	got = inspect(tar, 0, 0);
	assert_string_equal(got, want);
	free(got);
	free(tar);
	free(want);
	free(empty);
	free(gz);
}

static void
test_open_error(void **state)
{
	char *missing = tpath("missing.tar.gz"), *got, *want;

	(void)state;
	got = inspect(missing, 0, 0);
	want = xasprintf("%d %s: No such file or directory", ERR_IO, missing);
	assert_string_equal(got, want);
	free(want);
	free(got);
	free(missing);
}

/* ---- inspection: unsafe entries ------------------------------------------- */

#define TFE {"Towerfile", 'f', "x", 0, 0}

static void
test_unsafe_absolute(void **state)
{
	const struct tent a[] = {TFE, {"/etc/passwd", 'f', "x", 0, 0}};
	const struct tent b[] = {TFE, {"/", 'd', NULL, 0, 0}};

	(void)state;
	check_inspect(a, NE(a), "artifact entry \"/etc/passwd\" has an absolute path", IA);
	check_inspect(b, NE(b), "artifact entry \"/\" has an absolute path", IA);
}

static void
test_unsafe_dotdot(void **state)
{
	const struct tent a[] = {TFE, {"../evil.py", 'f', "x", 0, 0}};
	const struct tent b[] = {TFE, {"a/../../b", 'f', "x", 0, 0}};
	const struct tent c[] = {TFE, {"a/..", 'f', "", 0, 0}};
	/* "..." and "..x" are ordinary names */
	const struct tent ok[] = {TFE, {".../x", 'f', "", 0, 0}, {"..x", 'f', "", 0, 0},
	    {"x..", 'f', "", 0, 0}};

	(void)state;
	check_inspect(a, NE(a), "artifact entry \"../evil.py\" contains a \"..\" path element", IA);
	check_inspect(b, NE(b), "artifact entry \"a/../../b\" contains a \"..\" path element", IA);
	check_inspect(c, NE(c), "artifact entry \"a/..\" contains a \"..\" path element", IA);
	check_inspect(ok, NE(ok), NULL, 0);
}

static void
test_unsafe_devices(void **state)
{
	const struct tent c[] = {TFE, {"dev/null", 'c', NULL, 0, 0}};
	const struct tent b[] = {TFE, {"dev/sda", 'b', NULL, 0, 0}};
	const struct tent p[] = {{"fifo", 'p', NULL, 0, 0}, TFE};

	(void)state;
	check_inspect(c, NE(c), "artifact entry \"dev/null\" is a device or FIFO", IA);
	check_inspect(b, NE(b), "artifact entry \"dev/sda\" is a device or FIFO", IA);
	check_inspect(p, NE(p), "artifact entry \"fifo\" is a device or FIFO", IA);
}

static void
test_unsafe_symlinks(void **state)
{
	const struct tent abs[] = {TFE, {"l", 'l', "/etc/passwd", 0, 0}};
	const struct tent up[] = {TFE, {"l", 'l', "..", 0, 0}};
	const struct tent deep[] = {TFE, {"a/b/l", 'l', "../../../x", 0, 0}};
	const struct tent sneaky[] = {TFE, {"a/l", 'l', "x/../../..", 0, 0}};
	const struct tent inside[] = {TFE, {"a/b/l", 'l', "../../x", 0, 0},
	    {"a/m", 'l', "..", 0, 0}, {"n", 'l', ".", 0, 0}, {"e", 'l', "", 0, 0},
	    {"d", 'l', "missing/target", 0, 0}, {"dd", 'l', "..data", 0, 0}};

	(void)state;
	check_inspect(abs, NE(abs), "artifact entry \"l\" links outside the artifact root", IA);
	check_inspect(up, NE(up), "artifact entry \"l\" links outside the artifact root", IA);
	check_inspect(deep, NE(deep), "artifact entry \"a/b/l\" links outside the artifact root", IA);
	check_inspect(sneaky, NE(sneaky), "artifact entry \"a/l\" links outside the artifact root", IA);
	check_inspect(inside, NE(inside), NULL, 0);
}

static void
test_unsafe_hardlinks(void **state)
{
	const struct tent abs[] = {TFE, {"h", 'h', "/etc/passwd", 0, 0}};
	const struct tent up[] = {TFE, {"h", 'h', "a/../Towerfile", 0, 0}};
	const struct tent ok[] = {TFE, {"a/h", 'h', "Towerfile", 0, 0}};

	(void)state;
	check_inspect(abs, NE(abs), "artifact entry \"h\" links outside the artifact root", IA);
	check_inspect(up, NE(up), "artifact entry \"h\" links outside the artifact root", IA);
	check_inspect(ok, NE(ok), NULL, 0);
}

static void
test_unsafe_traversal(void **state)
{
	/* a file below a link */
	const struct tent below[] = {TFE, {"src/lib/", 'd', NULL, 0, 0},
	    {"lib", 'l', "src/lib", 0, 0}, {"lib/x.py", 'f', "x", 0, 0}};
	/* the file comes first: still found, the rule runs after the archive */
	const struct tent before[] = {TFE, {"lib/x.py", 'f', "x", 0, 0},
	    {"lib", 'l', "src/lib", 0, 0}};
	/* a chain whose links each look inside */
	const struct tent chain[] = {TFE, {"a", 'l', ".", 0, 0},
	    {"b", 'l', "a/..", 0, 0}, {"c", 'l', "b/..", 0, 0}};
	const struct tent chain_rev[] = {TFE, {"c", 'l', "b/..", 0, 0},
	    {"b", 'l', "a/..", 0, 0}, {"a", 'l', ".", 0, 0}};
	/* link targets and hard-link targets through a link */
	const struct tent sym_t[] = {TFE, {"d", 'l', "sub", 0, 0},
	    {"x", 'l', "d/file", 0, 0}};
	const struct tent hard_t[] = {TFE, {"d", 'l', "sub", 0, 0},
	    {"sub/file", 'f', "", 0, 0}, {"x", 'h', "d/file", 0, 0}};
	/* a directory entry named like a link, with ./ and // spellings */
	const struct tent spell[] = {TFE, {"./lnk", 'l', "real", 0, 0},
	    {"lnk//y", 'f', "", 0, 0}};
	const struct tent dir[] = {TFE, {"lnk", 'l', "real", 0, 0}, {"lnk/", 'd', NULL, 0, 0}};
	/* a link as the last element is fine */
	const struct tent last[] = {TFE, {"real", 'f', "", 0, 0}, {"a", 'l', "real", 0, 0},
	    {"b", 'l', "a", 0, 0}, {"h", 'h', "a", 0, 0}};

	(void)state;
	check_inspect(below, NE(below), "artifact entry \"lib/x.py\" traverses a symbolic link", IA);
	check_inspect(before, NE(before), "artifact entry \"lib/x.py\" traverses a symbolic link", IA);
	check_inspect(chain, NE(chain), "artifact entry \"b\" traverses a symbolic link", IA);
	check_inspect(chain_rev, NE(chain_rev), "artifact entry \"c\" traverses a symbolic link", IA);
	check_inspect(sym_t, NE(sym_t), "artifact entry \"x\" traverses a symbolic link", IA);
	check_inspect(hard_t, NE(hard_t), "artifact entry \"x\" traverses a symbolic link", IA);
	check_inspect(spell, NE(spell), "artifact entry \"lnk//y\" traverses a symbolic link", IA);
	check_inspect(dir, NE(dir), "artifact entry \"lnk/\" traverses a symbolic link", IA);
	check_inspect(last, NE(last), NULL, 0);
}

static void
test_unsafe_quoting(void **state)
{
	const struct tent q[] = {TFE, {"/a\"b\\c\n\x01\xff\xc3\xa9", 'f', "", 0, 0}};

	(void)state;
	check_inspect(q, NE(q), "artifact entry \"/a\\\"b\\\\c\\n\\x01\\xff\xc3\xa9\" has an "
	    "absolute path", IA);
}

static void
test_problem_order(void **state)
{
	/* the first problem in archive order wins */
	const struct tent abs_first[] = {{"/x", 'f', "", 0, 0},
	    {"Towerfile", 'f', NULL, 300000, 0}};
	const struct tent big_first[] = {{"Towerfile", 'f', NULL, 300000, 0},
	    {"/x", 'f', "", 0, 0}};
	const struct tent dev_then_dotdot[] = {{"p", 'p', NULL, 0, 0},
	    {"../x", 'f', "", 0, 0}};
	/* per entry: the table's order (absolute before "..") */
	const struct tent both[] = {{"/../x", 'f', "", 0, 0}};
	/* the traversal rule comes after everything read in order */
	const struct tent trav_then_abs[] = {{"l", 'l', "d", 0, 0},
	    {"l/x", 'f', "", 0, 0}, {"/late", 'f', "", 0, 0}};
	/* and before a missing Towerfile */
	const struct tent trav_no_tf[] = {{"l", 'l', "d", 0, 0}, {"l/x", 'f', "", 0, 0}};

	(void)state;
	check_inspect(abs_first, NE(abs_first), "artifact entry \"/x\" has an absolute path", IA);
	check_inspect(big_first, NE(big_first), "Towerfile exceeds maximum size of 262144 bytes", TM);
	check_inspect(dev_then_dotdot, NE(dev_then_dotdot), "artifact entry \"p\" is a device or FIFO", IA);
	check_inspect(both, NE(both), "artifact entry \"/../x\" has an absolute path", IA);
	check_inspect(trav_then_abs, NE(trav_then_abs), "artifact entry \"/late\" has an absolute path", IA);
	check_inspect(trav_no_tf, NE(trav_no_tf), "artifact entry \"l/x\" traverses a symbolic link", IA);
}

/* ---- inspection: limits ------------------------------------------------- */

static void
test_limits(void **state)
{
	const struct tent ents[] = {
		{"Towerfile", 'f', "0123456789", 0, 0},
		{"a", 'f', "0123456789", 0, 0},
		{"dir/", 'd', NULL, 0, 0},
	};
	const struct tent late_abs[] = {
		{"Towerfile", 'f', "0123456789", 0, 0},
		{"a", 'f', "0123456789", 0, 0},
		{"/x", 'f', "", 0, 0},
	};
	char *path = make_archive("a.tar.gz", ents, NE(ents), false);
	char *late = make_archive("b.tar.gz", late_abs, NE(late_abs), false);

	(void)state;
	expect(inspect(path, 3, 20), 0, NULL);
	expect(inspect(path, 2, 0), IA, "artifact has more than 2 entries");
	expect(inspect(path, 0, 19), IA, "artifact expands beyond 19 bytes");
	/* crossed inside the Towerfile */
	expect(inspect(path, 0, 9), IA, "artifact expands beyond 9 bytes");
	/* the limit is met before the unsafe entry */
	expect(inspect(late, 2, 0), IA, "artifact has more than 2 entries");
	expect(inspect(late, 0, 15), IA, "artifact expands beyond 15 bytes");
	free(path);
	free(late);
}

static void
test_bomb_stops_early(void **state)
{
	/* 64 MiB of zeros compresses to ~64 KiB; the limit stops the read */
	const struct tent ents[] = {{"zeros", 'f', NULL, 64 << 20, 0}, TFE};
	char *path = make_archive("bomb.tar.gz", ents, NE(ents), false);

	(void)state;
	expect(inspect(path, 0, 1 << 20), IA, "artifact expands beyond 1048576 bytes");
	free(path);
}

/* ---- extraction ------------------------------------------------------------- */

/* Extracts path into tmp/out (created); returns "OK" or the message. */
static char *
extract(const char *path, int64_t max_entries, int64_t max_bytes)
{
	struct archive_limits lim = {max_entries, max_bytes};
	char *out = tpath("out"), before[4096], after[4096];
	struct err err = {0};
	char *res;

	mkdir(out, 0755);
	assert_non_null(getcwd(before, sizeof(before)));
	if (archive_extract(path, out, &lim, &err) != 0)
		res = xstrdup(err.msg);
	else
		res = xstrdup("OK");
	assert_non_null(getcwd(after, sizeof(after)));
	assert_string_equal(before, after);	/* the directory is restored */
	free(out);
	return res;
}

static bool
exists(const char *rel)
{
	char *p = tpath(rel);
	struct stat st;
	bool ok = lstat(p, &st) == 0;

	free(p);
	return ok;
}

static void
test_extract_ok(void **state)
{
	const struct tent ents[] = {
		{"Towerfile", 'f', "tf", 0, 0},
		{"./main.py", 'f', "print(1)\n", 0, 0755},
		{"suid.sh", 'f', "#!/bin/sh\n", 0, 06755},
		{"deep/er/file.txt", 'f', "deep", 0, 0600},
		{"alias.py", 'l', "main.py", 0, 0},
		{"deep/up", 'l', "../main.py", 0, 0},
		{"hard.py", 'h', "main.py", 0, 0},
		{"sticky/", 'd', NULL, 0, 01777},
	};
	char *path = make_archive("a.tar.gz", ents, NE(ents), false), *got;
	char *p, link[64];
	struct stat st, st2;
	mode_t old = umask(077);
	ssize_t n;

	(void)state;
	got = extract(path, 0, 0);
	umask(old);
	assert_string_equal(got, "OK");
	free(got);
	p = tpath("out/main.py");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_mtime, 1000000000);
	free(p);
	p = tpath("out/hard.py");
	assert_int_equal(stat(p, &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	free(p);
	p = tpath("out/suid.sh");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);	/* no set-uid/set-gid */
	free(p);
	p = tpath("out/sticky");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0777);	/* no sticky bit */
	free(p);
	p = tpath("out/deep/er");	/* implied parents: 0755 despite umask 077 */
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	free(p);
	p = tpath("out/deep/er/file.txt");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	free(p);
	p = tpath("out/alias.py");
	n = readlink(p, link, sizeof(link) - 1);
	assert_int_equal(n, 7);
	link[n] = '\0';
	assert_string_equal(link, "main.py");
	free(p);
	p = tpath("out/deep/er/file.txt");
	got = read_file(p, NULL);
	assert_string_equal(got, "deep");
	free(got);
	free(p);
	free(path);
}

static void
check_extract(const struct tent *ents, size_t n, const char *want)
{
	char *path = make_archive("x.tar.gz", ents, n, false), *got;

	got = extract(path, 0, 0);
	assert_string_equal(got, want);
	free(got);
	/* the scan runs first: nothing was written */
	assert_false(exists("out/Towerfile"));
	free(path);
}

static void
test_extract_refusals(void **state)
{
	const struct tent abs[] = {TFE, {"/tmp/mt-evil", 'f', "x", 0, 0}};
	const struct tent dotdot[] = {TFE, {"../evil", 'f', "x", 0, 0}};
	const struct tent dev[] = {TFE, {"null", 'c', NULL, 0, 0}};
	const struct tent fifo[] = {TFE, {"fifo", 'p', NULL, 0, 0}};
	const struct tent sym_abs[] = {TFE, {"l", 'l', "/etc", 0, 0}};
	const struct tent sym_up[] = {TFE, {"a/l", 'l', "../..", 0, 0}};
	const struct tent hard[] = {TFE, {"h", 'h', "../x", 0, 0}};
	const struct tent trav[] = {TFE, {"lib", 'l', "src", 0, 0},
	    {"lib/x.py", 'f', "x", 0, 0}};
	const struct tent chain[] = {TFE, {"c", 'l', "b/..", 0, 0},
	    {"b", 'l', "a/..", 0, 0}, {"a", 'l', ".", 0, 0}};

	(void)state;
	check_extract(abs, NE(abs), "unsafe archive entry \"/tmp/mt-evil\": has an absolute path");
	check_extract(dotdot, NE(dotdot), "unsafe archive entry \"../evil\": contains a \"..\" path element");
	check_extract(dev, NE(dev), "unsafe archive entry \"null\": is a device or FIFO");
	check_extract(fifo, NE(fifo), "unsafe archive entry \"fifo\": is a device or FIFO");
	check_extract(sym_abs, NE(sym_abs), "unsafe archive entry \"l\": links outside the artifact root");
	check_extract(sym_up, NE(sym_up), "unsafe archive entry \"a/l\": links outside the artifact root");
	check_extract(hard, NE(hard), "unsafe archive entry \"h\": links outside the artifact root");
	check_extract(trav, NE(trav), "unsafe archive entry \"lib/x.py\": traverses a symbolic link");
	check_extract(chain, NE(chain), "unsafe archive entry \"c\": traverses a symbolic link");
	assert_false(exists("mt-evil"));
	assert_false(exists("evil"));
}

static void
test_extract_limits_and_formats(void **state)
{
	const struct tent ents[] = {TFE, {"a", 'f', "0123456789", 0, 0}, {"b", 'f', "", 0, 0}};
	char *path = make_archive("a.tar.gz", ents, NE(ents), false);
	char *plain = make_archive("a.tar", ents, NE(ents), true), *got;
	char *missing = tpath("nope.tar.gz"), *want;
	struct err err = {0};

	(void)state;
	got = extract(path, 2, 0);
	assert_string_equal(got, "artifact has more than 2 entries");
	free(got);
	got = extract(path, 0, 10);
	assert_string_equal(got, "artifact expands beyond 10 bytes");
	free(got);
	assert_false(exists("out/a"));
	got = extract(plain, 0, 0);
	assert_string_equal(got, "artifact is not a valid gzip archive");
	free(got);
	got = extract(missing, 0, 0);
	want = xasprintf("%s: No such file or directory", missing);
	assert_string_equal(got, want);
	free(want);
	free(got);
	got = extract(path, 3, 11);
	assert_string_equal(got, "OK");
	free(got);
	assert_true(exists("out/a"));
	/* a destination that does not exist */
	want = tpath("no/such/dir");
	assert_int_equal(archive_extract(path, want, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "No such file or directory"));
	free(want);
	free(missing);
	free(plain);
	free(path);
}

/* ---- packing ------------------------------------------------------------------ */

/* Creates tmp/proj/rel holding content, with parents. */
static void
pfile(const char *rel, const char *content, int mode)
{
	char *p = xasprintf("%s/proj/%s", tmp, rel), *s;

	for (s = strchr(p + strlen(tmp) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	write_bytes(p, content, strlen(content));
	assert_int_equal(chmod(p, (mode_t)mode), 0);
	free(p);
}

static void
plink(const char *target, const char *rel)
{
	char *p = xasprintf("%s/proj/%s", tmp, rel);

	assert_int_equal(symlink(target, p), 0);
	free(p);
}

static void
make_pack_project(void)
{
	pfile("Towerfile", "on disk\n", 0644);
	pfile("main.py", "print('hello')\n", 0600);
	pfile("run.sh", "#!/bin/sh\necho hi\n", 0700);
	pfile("pkg/mod.py", "X = 1\n", 0664);
	pfile("pkg/sub/data.bin", "\x01\x02\x03", 0444);
	pfile(".env", "SECRET=1\n", 0600);
	plink("../main.py", "pkg/main_link.py");
}

static int
pack_project(const char *const *pats, size_t n, const char *script,
    const char *out_rel, struct archive_pack_result *res, struct err *err)
{
	char *dir = tpath("proj"), *out = tpath(out_rel);
	int rc = archive_pack_project(dir, script, pats, n, TF, strlen(TF), out, res, err);

	free(dir);
	free(out);
	return rc;
}

/* Lists the entries of a packed artifact: "name type mode uid/gid
 * uname/gname mtime [-> target] [= content]" per line. */
static char *
list_archive(const char *path)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct buf b;
	char data[1024];
	int r;

	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_filename(a, path, 4096), ARCHIVE_OK);
	buf_init(&b, 1 << 20);
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		la_ssize_t n = archive_read_data(a, data, sizeof(data) - 1);

		assert_true(n >= 0);
		data[n] = '\0';
		buf_addf(&b, "%s %c %o %d/%d %s/%s %lld", archive_entry_pathname(e),
		    archive_entry_filetype(e) == AE_IFLNK ? 'l' :
		    archive_entry_filetype(e) == AE_IFREG ? 'f' : '?',
		    (unsigned)archive_entry_perm(e), (int)archive_entry_uid(e),
		    (int)archive_entry_gid(e), archive_entry_uname(e),
		    archive_entry_gname(e), (long long)archive_entry_mtime(e));
		if (archive_entry_symlink(e))
			buf_addf(&b, " -> %s", archive_entry_symlink(e));
		if (n > 0)
			buf_addf(&b, " = %s", data);
		buf_addc(&b, '\n');
	}
	assert_int_equal(r, ARCHIVE_EOF);
	archive_read_free(a);
	return buf_take(&b);
}

static void
test_pack_content(void **state)
{
	struct archive_pack_result res;
	struct err err = {0};
	char *out, *got, hex[65];
	size_t n;

	(void)state;
	make_pack_project();
	assert_int_equal(pack_project(NULL, 0, "main.py", "a.tar.gz", &res, &err), 0);
	out = tpath("a.tar.gz");
	got = list_archive(out);
	assert_string_equal(got,
	    "Towerfile f 644 0/0 root/root 0 = [app]\nname = \"hello\"\nscript = \"main.py\"\n\n"
	    "main.py f 644 0/0 root/root 0 = print('hello')\n\n"
	    "pkg/main_link.py l 777 0/0 root/root 0 -> ../main.py\n"
	    "pkg/mod.py f 644 0/0 root/root 0 = X = 1\n\n"
	    "pkg/sub/data.bin f 644 0/0 root/root 0 = \x01\x02\x03\n"
	    "run.sh f 755 0/0 root/root 0 = #!/bin/sh\necho hi\n\n");
	free(got);
	/* the result describes the file */
	assert_int_equal(archive_sha256_file(out, hex, &err), 0);
	assert_string_equal(hex, res.sha256);
	free(read_file(out, &n));
	assert_int_equal(res.bytes, (int64_t)n);
	free(out);
}

static void
test_pack_gzip_header_and_ustar(void **state)
{
	struct archive_pack_result res;
	struct err err = {0};
	char *out, *raw, *tar;
	size_t n, tn;

	(void)state;
	make_pack_project();
	assert_int_equal(pack_project(NULL, 0, "main.py", "a.tar.gz", &res, &err), 0);
	out = tpath("a.tar.gz");
	raw = read_file(out, &n);
	assert_true(n > 18);
	assert_int_equal((unsigned char)raw[0], 0x1f);
	assert_int_equal((unsigned char)raw[1], 0x8b);
	assert_int_equal(raw[2], 8);		/* deflate */
	assert_int_equal(raw[3], 0);		/* no FNAME, no FCOMMENT, no extra */
	assert_int_equal(memcmp(raw + 4, "\0\0\0\0", 4), 0);	/* MTIME 0 */
	tar = gunzip_file(out, &tn);
	/* plain ustar headers, no pax records, no directory entries, and no
	 * padding beyond the two end blocks */
	assert_int_equal(tn % 512, 0);
	for (size_t off = 0; off + 512 <= tn; off += 512) {
		if (memcmp(tar + off + 257, "ustar", 5) == 0) {
			assert_true(tar[off + 156] == '0' || tar[off + 156] == '2');
		}
	}
	assert_null(memmem(tar, tn, "PaxHeader", 9));
	assert_int_equal(memcmp(tar + 257, "ustar\0" "00", 8), 0);
	free(tar);
	free(raw);
	free(out);
}

static void
touch_all(time_t when)
{
	static const char *const files[] = {"Towerfile", "main.py", "run.sh",
	    "pkg/mod.py", "pkg/sub/data.bin"};

	for (size_t i = 0; i < NE(files); i++) {
		char *p = xasprintf("%s/proj/%s", tmp, files[i]);
		struct timeval tv[2] = {{when, 0}, {when, 0}};

		assert_int_equal(utimes(p, tv), 0);
		free(p);
	}
}

static void
test_pack_reproducible(void **state)
{
	struct archive_pack_result r1, r2, r3;
	struct err err = {0};
	char *a, *b, *pa, *pb;
	size_t na, nb;

	(void)state;
	make_pack_project();
	touch_all(1000);
	assert_int_equal(pack_project(NULL, 0, "main.py", "1.tar.gz", &r1, &err), 0);
	touch_all(2000000000);
	assert_int_equal(pack_project(NULL, 0, "main.py", "2.tar.gz", &r2, &err), 0);
	assert_string_equal(r1.sha256, r2.sha256);
	assert_int_equal(r1.bytes, r2.bytes);
	pa = tpath("1.tar.gz");
	pb = tpath("2.tar.gz");
	a = read_file(pa, &na);
	b = read_file(pb, &nb);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	free(a);
	free(b);
	/* a content change changes the digest */
	pfile("pkg/mod.py", "X = 2\n", 0664);
	assert_int_equal(pack_project(NULL, 0, "main.py", "3.tar.gz", &r3, &err), 0);
	assert_string_not_equal(r1.sha256, r3.sha256);
	free(pa);
	free(pb);
}

static void
test_pack_source_date_epoch(void **state)
{
	static const char *const bad[] = {"", "abc", "-1", "+5", "1.5", " 1",
	    "99999999999999999999"};
	struct archive_pack_result res;
	struct err err = {0};
	const char *pats[] = {"main.py"};
	char *out, *got;
	int64_t v;

	(void)state;
	make_pack_project();
	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	assert_int_equal(archive_source_date_epoch(&v, &err), 0);
	assert_int_equal(v, 1700000000);
	assert_int_equal(pack_project(pats, 1, "main.py", "a.tar.gz", &res, &err), 0);
	out = tpath("a.tar.gz");
	got = list_archive(out);
	assert_non_null(strstr(got, "main.py f 644 0/0 root/root 1700000000"));
	assert_non_null(strstr(got, "Towerfile f 644 0/0 root/root 1700000000"));
	free(got);
	free(out);
	/* beyond the 11 octal digits of ustar: a pax record carries it */
	setenv("SOURCE_DATE_EPOCH", "99999999999", 1);
	assert_int_equal(pack_project(pats, 1, "main.py", "b.tar.gz", &res, &err), 0);
	out = tpath("b.tar.gz");
	got = list_archive(out);
	assert_non_null(strstr(got, "main.py f 644 0/0 root/root 99999999999"));
	free(got);
	free(out);
	for (size_t i = 0; i < NE(bad); i++) {
		setenv("SOURCE_DATE_EPOCH", bad[i], 1);
		assert_int_equal(archive_source_date_epoch(&v, &err), -1);
		assert_int_equal(pack_project(pats, 1, "main.py", "c.tar.gz", &res, &err), -1);
		assert_string_equal(err.msg, "invalid SOURCE_DATE_EPOCH");
	}
	unsetenv("SOURCE_DATE_EPOCH");
	assert_int_equal(archive_source_date_epoch(&v, &err), 0);
	assert_int_equal(v, 0);
}

static void
test_pack_long_and_utf8_names(void **state)
{
	struct archive_pack_result res;
	struct err err = {0};
	char longname[300], *out, *got, *tar, *want;
	size_t tn;

	(void)state;
	make_pack_project();
	memset(longname, 'n', 150);
	memcpy(longname + 150, ".py", 4);
	pfile(longname, "long", 0644);
	pfile("\xc3\xa9t\xc3\xa9/\xe6\x97\xa5.py", "utf8", 0644);
	assert_int_equal(pack_project(NULL, 0, "main.py", "a.tar.gz", &res, &err), 0);
	out = tpath("a.tar.gz");
	got = list_archive(out);
	want = xasprintf("%s f 644 0/0 root/root 0 = long\n", longname);
	assert_non_null(strstr(got, want));
	assert_non_null(strstr(got, "\xc3\xa9t\xc3\xa9/\xe6\x97\xa5.py f 644 0/0 root/root 0 = utf8\n"));
	free(want);
	free(got);
	tar = gunzip_file(out, &tn);
	assert_non_null(memmem(tar, tn, "PaxHeader", 9));	/* only where needed */
	assert_non_null(memmem(tar, tn, " path=\xc3\xa9t\xc3\xa9/\xe6\x97\xa5.py\n", 17));
	assert_null(memmem(tar, tn, "hdrcharset", 10));
	free(tar);
	/* and the server accepts it */
	free(inspect(out, 0, 0));
	got = inspect(out, 0, 0);
	assert_string_equal(got, "OK");
	free(got);
	free(out);
}

static void
test_pack_non_utf8_name(void **state)
{
	struct archive_pack_result res;
	struct archive_info info;
	struct err err = {0};
	char *out, *got;

	(void)state;
	make_pack_project();
	pfile("bad\xff.py", "raw", 0644);
	assert_int_equal(pack_project(NULL, 0, "main.py", "a.tar.gz", &res, &err), 0);
	out = tpath("a.tar.gz");
	got = list_archive(out);
	assert_non_null(strstr(got, "bad\xff.py f 644 0/0 root/root 0 = raw\n"));
	free(got);
	assert_int_equal(archive_inspect(out, NULL, &info, &err), 0);
	assert_true(archive_info_has_script(&info, "bad\xff.py"));
	archive_info_free(&info);
	free(out);
}

static void
test_pack_errors(void **state)
{
	struct archive_pack_result res;
	struct err err = {0};
	const char *pats[] = {"*.sh"}, *bad[] = {"[x"}, *out_link[] = {"ext"};
	char *p;

	(void)state;
	make_pack_project();
	assert_int_equal(pack_project(pats, 1, "main.py", "a.tar.gz", &res, &err), -1);
	assert_string_equal(err.msg, "script \"main.py\" is not matched by any source pattern");
	assert_int_equal(pack_project(bad, 1, "main.py", "a.tar.gz", &res, &err), -1);
	assert_string_equal(err.msg, "resolving source: syntax error in pattern \"[x\"");
	plink("/etc", "ext");
	assert_int_equal(pack_project(out_link, 1, "main.py", "a.tar.gz", &res, &err), -1);
	assert_non_null(strstr(err.msg, "resolving source: symlink \""));
	assert_non_null(strstr(err.msg, "/proj/ext\" points outside the project root"));
	/* an output that cannot be created */
	p = tpath("proj/ext");
	unlink(p);
	free(p);
	assert_int_equal(pack_project(NULL, 0, "main.py", "no/such/dir/a.tar.gz", &res, &err), -1);
	assert_non_null(strstr(err.msg, "No such file or directory"));
}

static void
test_pack_towerfile_once(void **state)
{
	struct archive_pack_result res;
	struct err err = {0};
	const char *pats[] = {"*.py", "run.sh"};
	char *out, *got;

	(void)state;
	make_pack_project();
	assert_int_equal(pack_project(pats, 2, "./main.py", "a.tar.gz", &res, &err), 0);
	out = tpath("a.tar.gz");
	got = list_archive(out);
	/* not matched: appended after the sorted list, holding the given bytes */
	assert_string_equal(got,
	    "main.py f 644 0/0 root/root 0 = print('hello')\n\n"
	    "run.sh f 755 0/0 root/root 0 = #!/bin/sh\necho hi\n\n"
	    "Towerfile f 644 0/0 root/root 0 = [app]\nname = \"hello\"\nscript = \"main.py\"\n\n");
	free(got);
	free(out);
}

static void
test_pack_500_files(void **state)
{
	struct archive_pack_result res;
	struct archive_info info;
	struct err err = {0};
	char *out, *got;

	(void)state;
	make_pack_project();
	for (int i = 0; i < 500; i++) {
		char *rel = xasprintf("many/d%02d/f%03d.py", i % 23, i), *c = xasprintf("# %d\n", i);

		pfile(rel, c, 0644);
		free(rel);
		free(c);
	}
	assert_int_equal(pack_project(NULL, 0, "main.py", "a.tar.gz", &res, &err), 0);
	out = tpath("a.tar.gz");
	assert_int_equal(archive_inspect(out, NULL, &info, &err), 0);
	assert_int_equal(info.entries, 506);
	assert_true(archive_info_has_script(&info, "many/d05/f097.py"));
	assert_true(archive_info_has_script(&info, "main.py"));
	assert_string_equal(info.towerfile, TF);
	archive_info_free(&info);
	got = extract(out, 0, 0);
	assert_string_equal(got, "OK");
	free(got);
	assert_true(exists("out/many/d21/f481.py"));
	free(out);
}

static void
test_sha256_file(void **state)
{
	char *p = tpath("abc"), *e = tpath("empty"), hex[65];
	struct err err = {0};

	(void)state;
	write_bytes(p, "abc", 3);
	write_bytes(e, "", 0);
	assert_int_equal(archive_sha256_file(p, hex, &err), 0);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(archive_sha256_file(e, hex, &err), 0);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	unlink(p);
	assert_int_equal(archive_sha256_file(p, hex, &err), -1);
	assert_int_equal(err.code, ERR_IO);
	free(p);
	free(e);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_inspect_ok),
		T(test_inspect_fd),
		T(test_towerfile_detection),
		T(test_towerfile_size),
		T(test_towerfile_read_error),
		T(test_not_gzip),
		T(test_not_tar),
		T(test_damaged_header),
		T(test_empty_archives),
		T(test_open_error),
		T(test_unsafe_absolute),
		T(test_unsafe_dotdot),
		T(test_unsafe_devices),
		T(test_unsafe_symlinks),
		T(test_unsafe_hardlinks),
		T(test_unsafe_traversal),
		T(test_unsafe_quoting),
		T(test_problem_order),
		T(test_limits),
		T(test_bomb_stops_early),
		T(test_extract_ok),
		T(test_extract_refusals),
		T(test_extract_limits_and_formats),
		T(test_pack_content),
		T(test_pack_gzip_header_and_ustar),
		T(test_pack_reproducible),
		T(test_pack_source_date_epoch),
		T(test_pack_long_and_utf8_names),
		T(test_pack_non_utf8_name),
		T(test_pack_errors),
		T(test_pack_towerfile_once),
		T(test_pack_500_files),
		T(test_sha256_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
