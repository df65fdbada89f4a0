/*
 * Tests for glob: pattern syntax and matching (glob_match), and resolution
 * over real project trees built in a mkdtemp directory (glob_resolve,
 * glob_project_files): hidden files, symbolic links, de-duplication,
 * sorting, the default pattern, the script and Towerfile rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "glob.h"
#include "util.h"
#include "tmpdir.h"

/* ---- fixtures ----------------------------------------------------------- */

static int
setup(void **state)
{
	(void)state;
	tmpdir_setup("/tmp/mt-glob-XXXXXX");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tmpdir_teardown();
	return 0;
}

/* Creates tmp/rel (and its parents) holding content. */
static void
mkfile(const char *rel, const char *content)
{
	char *p = xasprintf("%s/%s", tmp, rel), *s;
	FILE *f;

	for (s = strchr(p + strlen(tmp) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	free(p);
}

static void
mkdirp(const char *rel)
{
	char *p = xasprintf("%s/%s/x", tmp, rel), *r = xasprintf("%s/x", rel);

	mkfile(r, "");	/* creates the parents */
	unlink(p);
	free(r);
	free(p);
}

static void
mklink(const char *target, const char *rel)
{
	char *p = xasprintf("%s/%s", tmp, rel);

	assert_int_equal(symlink(target, p), 0);
	free(p);
}

/* The result as one string: "a b@->t c" (links marked with their target). */
static char *
listing(const struct glob_result *r)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	for (size_t i = 0; i < r->n; i++) {
		if (i)
			buf_addc(&b, ' ');
		buf_adds(&b, r->v[i].path);
		if (r->v[i].is_symlink)
			buf_addf(&b, "@->%s", r->v[i].link_target);
	}
	if (b.data == NULL)
		buf_adds(&b, "");
	return buf_take(&b);
}

/* Resolves the given patterns under tmp; returns the listing or the error
 * message (prefixed with "ERR "). */
static char *
resolve(const char *const *pats, size_t n)
{
	struct glob_result r;
	struct err err = {0};
	char *s;

	if (glob_resolve(tmp, pats, n, &r, &err) != 0)
		return xasprintf("ERR %s", err.msg);
	s = listing(&r);
	glob_result_free(&r);
	return s;
}

static void
check_resolve1(const char *pattern, const char *want)
{
	const char *pats[] = {pattern};
	char *got = resolve(pats, 1);

	assert_string_equal(got, want);
	free(got);
}

/* ---- matching ----------------------------------------------------------- */

static int
m(const char *pattern, const char *path)
{
	struct err err = {0};
	int r = glob_match(pattern, path, &err);

	if (r < 0)
		fail_msg("unexpected error for %s: %s", pattern, err.msg);
	return r;
}

static void
test_match_star_question(void **state)
{
	(void)state;
	assert_true(m("*.py", "main.py"));
	assert_true(m("*.py", ".py"));
	assert_false(m("*.py", "pkg/main.py"));	/* * never crosses / */
	assert_true(m("*", ".env"));			/* wildcards match dot names */
	assert_true(m("m?in.py", "main.py"));
	assert_false(m("m?in.py", "mn.py"));
	assert_false(m("a?b", "a/b"));
	assert_true(m("a*b*c", "aXXbYYc"));
	assert_false(m("a*b*c", "aXXbYY"));
	assert_true(m("*", "x"));
	assert_false(m("*.PY", "main.py"));		/* case-sensitive */
	assert_true(m("a**b", "aXYb"));		/* ** inside an element is * */
	assert_false(m("a**b", "aX/Yb"));
}

static void
test_match_classes(void **state)
{
	(void)state;
	assert_true(m("[abc].py", "b.py"));
	assert_false(m("[abc].py", "d.py"));
	assert_true(m("[a-c]x", "cx"));
	assert_false(m("[a-c]x", "dx"));
	assert_true(m("[!a]x", "bx"));
	assert_false(m("[!a]x", "ax"));
	assert_true(m("[^a]x", "bx"));
	assert_false(m("[^a]x", "ax"));
	assert_true(m("[a-cx-z]", "y"));
	assert_true(m("[\\]]", "]"));
	assert_true(m("[\\-]", "-"));
	assert_true(m("[é]", "é"));
	assert_true(m("[à-ü]", "é"));
	assert_false(m("[a-z]", "é"));
}

static void
test_match_utf8(void **state)
{
	(void)state;
	assert_true(m("?", "é"));			/* one code point, two bytes */
	assert_false(m("??", "é"));
	assert_true(m("??", "日本"));
	assert_true(m("?.py", "日.py"));
	assert_true(m("*本", "日本"));
	assert_true(m("?", "\xff"));			/* an invalid byte is one char */
	assert_true(m("日*", "日本.txt"));
}

static void
test_match_braces_escapes(void **state)
{
	(void)state;
	assert_true(m("{a,b}.py", "a.py"));
	assert_true(m("{a,b}.py", "b.py"));
	assert_false(m("{a,b}.py", "c.py"));
	assert_true(m("x{,y}", "x"));
	assert_true(m("{a,b{c,d}}", "bd"));
	assert_true(m("{src/a,lib}/*.py", "src/a/x.py"));
	assert_true(m("{src/a,lib}/*.py", "lib/x.py"));
	assert_true(m("\\*", "*"));
	assert_false(m("\\*", "a"));
	assert_true(m("\\[x]", "[x]"));
	assert_true(m("\\{a,b}", "{a,b}"));
	assert_true(m("a}", "a}"));			/* a lone } is literal */
	assert_true(m("a,b", "a,b"));
	assert_true(m("[{]", "{"));
}

static void
test_match_globstar(void **state)
{
	(void)state;
	assert_true(m("**", "a"));
	assert_true(m("**", "a/b/c"));
	assert_true(m("./**", "main.py"));
	assert_true(m("./**", "pkg/m.py"));
	assert_true(m("**/*.py", "main.py"));		/* zero elements */
	assert_true(m("**/*.py", "a/b/main.py"));
	assert_false(m("**/*.py", "a/b/main.sh"));
	assert_true(m("a/**/b", "a/b"));
	assert_true(m("a/**/b", "a/x/y/b"));
	assert_false(m("a/**/b", "c/x/b"));
	assert_true(m("a/**", "a/x"));
	assert_true(m("/main.py", "main.py"));		/* leading / removed */
	assert_true(m("a/../main.py", "main.py"));	/* cleaned lexically */
	assert_true(m("**/**/x", "x"));
}

static void
check_syntax_error(const char *p, const char *want)
{
	struct err err = {0};

	assert_int_equal(glob_match(p, "x", &err), -1);
	assert_string_equal(err.msg, want);
	assert_int_equal(err.code, ERR_INVALID);
}

static void
test_syntax_errors(void **state)
{
	(void)state;
	check_syntax_error("[a-", "syntax error in pattern \"[a-\"");
	check_syntax_error("[a", "syntax error in pattern \"[a\"");
	check_syntax_error("[]", "syntax error in pattern \"[]\"");
	check_syntax_error("[a-]", "syntax error in pattern \"[a-]\"");
	check_syntax_error("[-a]", "syntax error in pattern \"[-a]\"");
	check_syntax_error("x[", "syntax error in pattern \"x[\"");
	check_syntax_error("{a,b", "syntax error in pattern \"{a,b\"");
	check_syntax_error("{a,{b}", "syntax error in pattern \"{a,{b}\"");
	check_syntax_error("a\\", "syntax error in pattern \"a\\\\\"");
	check_syntax_error("a[/]b", "syntax error in pattern \"a[/]b\"");
	check_syntax_error("[\xff]", "syntax error in pattern \"[\\xff]\"");
	check_syntax_error("ok/\n[", "syntax error in pattern \"ok/\\n[\"");
}

/* ---- resolution ---------------------------------------------------------- */

static void
make_project(void)
{
	mkfile("Towerfile", "[app]\nname = \"hello\"\nscript = \"main.py\"\n");
	mkfile("main.py", "print('hi')\n");
	mkfile("util.py", "");
	mkfile("README.md", "");
	mkfile("pkg/a.py", "");
	mkfile("pkg/sub/b.py", "");
	mkfile("pkg/.hidden.py", "");
	mkfile(".env", "SECRET=1\n");
	mkfile(".secret/key", "k");
	mkfile(".git/HEAD", "ref");
}

static void
test_default_pattern(void **state)
{
	char *got;

	(void)state;
	make_project();
	got = resolve(NULL, 0);
	assert_string_equal(got, "README.md Towerfile main.py pkg/a.py "
	    "pkg/sub/b.py util.py");
	free(got);
	check_resolve1("./**", "README.md Towerfile main.py pkg/a.py "
	    "pkg/sub/b.py util.py");
	check_resolve1("**", "README.md Towerfile main.py pkg/a.py "
	    "pkg/sub/b.py util.py");
}

static void
test_hidden_files(void **state)
{
	(void)state;
	make_project();
	check_resolve1("./.env", ".env");
	check_resolve1(".env", ".env");
	check_resolve1("./*", "README.md Towerfile main.py util.py");
	check_resolve1("./.*", ".env");			/* .secret, .git are dirs */
	check_resolve1(".secret/*", ".secret/key");
	check_resolve1("pkg/.*.py", "pkg/.hidden.py");
	check_resolve1("./.*/**", ".env .git/HEAD .secret/key");
	check_resolve1("pkg/*", "pkg/a.py");		/* .hidden.py dropped */
	check_resolve1("[.]env", "");			/* no element starts with . */
	check_resolve1("\\.env", "");
}

static void
test_patterns_on_tree(void **state)
{
	(void)state;
	make_project();
	check_resolve1("*.py", "main.py util.py");
	check_resolve1("**/*.py", "main.py pkg/a.py pkg/sub/b.py util.py");
	check_resolve1("pkg/**", "pkg/a.py pkg/sub/b.py");
	check_resolve1("pkg", "");			/* a directory is skipped */
	check_resolve1("{main,util}.py", "main.py util.py");
	check_resolve1("/main.py", "main.py");
	check_resolve1("pkg/../main.py", "main.py");
	check_resolve1("nothing/*.py", "");		/* no match is no error */
	check_resolve1("m?in.py", "main.py");
	check_resolve1("[mu]*.py", "main.py util.py");
	check_resolve1("[!m]*.py", "util.py");
	check_resolve1("pkg/**/b.py", "pkg/sub/b.py");
	check_resolve1("{..,pkg}/a.py", "pkg/a.py");	/* ../ alternatives dropped */
	check_resolve1("[a-", "ERR syntax error in pattern \"[a-\"");
}

static void
test_dedup_and_sort(void **state)
{
	const char *pats[] = {"b/*", "a.py", "**/*.py", "a-b", "A.py", "a.py"};
	char *got;

	(void)state;
	mkfile("a.py", "");
	mkfile("a-b", "");
	mkfile("A.py", "");
	mkfile("b/x.py", "");
	mkfile("a/z.py", "");
	mkfile("\xc3\xa9.py", "");
	got = resolve(pats, 6);
	/* byte order: 'A' < 'a'; '-' < '.' < '/'; UTF-8 after ASCII */
	assert_string_equal(got, "A.py a-b a.py a/z.py b/x.py \xc3\xa9.py");
	free(got);
}

static void
test_special_files_skipped(void **state)
{
	char *fifo;

	(void)state;
	mkfile("main.py", "");
	fifo = xasprintf("%s/pipe", tmp);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	free(fifo);
	check_resolve1("*", "main.py");
}

static void
test_symlinks_inside(void **state)
{
	(void)state;
	mkfile("main.py", "");
	mkfile("lib/real.py", "");
	mkfile("lib/deep/x.py", "");
	mklink("lib/real.py", "alias.py");
	mklink("lib/deep/x.py", "other.py");
	mkdirp("sub");
	mklink("../main.py", "sub/m.py");
	mklink("../lib/deep", "sub/deep");			/* link to a directory */
	mklink("alias.py", "chain.py");			/* link to a link */
	mklink(".", "self");					/* link to the root */
	check_resolve1("*", "alias.py@->lib/real.py chain.py@->lib/real.py "
	    "main.py other.py@->lib/deep/x.py self@->.");
	/* the directory link is kept as a link, nothing below it is */
	check_resolve1("sub/**", "sub/deep@->../lib/deep sub/m.py@->../main.py");
	check_resolve1("sub/deep/*", "");
	check_resolve1("self/main.py", "");
}

static void
test_symlink_outside(void **state)
{
	char *want, *real;
	char outside[] = "/tmp/mt-glob-out-XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(outside));
	mkfile("main.py", "");
	mklink(outside, "ext");
	mklink("/etc/hostname", "host");
	real = realpath(tmp, NULL);
	/* a directory link outside: its contents are never reached */
	check_resolve1("ext/*", "");
	want = xasprintf("ERR symlink \"%s/ext\" points outside the project root", real);
	check_resolve1("ext", want);
	free(want);
	want = xasprintf("ERR symlink \"%s/host\" points outside the project root", real);
	check_resolve1("h*", want);
	free(want);
	mklink("missing.py", "dangling.py");
	want = xasprintf("ERR resolving symlink \"%s/dangling.py\": No such file or "
	    "directory", real);
	check_resolve1("d*.py", want);
	free(want);
	free(real);
	rmdir(outside);
}

static void
test_project_through_symlink(void **state)
{
	char *link = xasprintf("%s-link", tmp), *got;
	struct glob_result r;
	struct err err = {0};

	(void)state;
	mkfile("main.py", "");
	mklink("main.py", "m.py");
	assert_int_equal(symlink(tmp, link), 0);
	assert_int_equal(glob_resolve(link, NULL, 0, &r, &err), 0);
	got = listing(&r);
	assert_string_equal(got, "m.py@->main.py main.py");
	assert_non_null(r.root);
	assert_null(strstr(r.root, "-link"));
	free(got);
	glob_result_free(&r);
	unlink(link);
	free(link);
}

static void
test_missing_project(void **state)
{
	struct glob_result r;
	struct err err = {0};
	char *dir = xasprintf("%s/nope", tmp);

	(void)state;
	assert_int_equal(glob_resolve(dir, NULL, 0, &r, &err), -1);
	assert_non_null(strstr(err.msg, "No such file or directory"));
	assert_null(r.v);
	free(dir);
}

static char *
project_files(const char *const *pats, size_t n, const char *script)
{
	struct glob_result r;
	struct err err = {0};
	char *s;

	if (glob_project_files(tmp, pats, n, script, &r, &err) != 0)
		return xasprintf("ERR %s", err.msg);
	s = listing(&r);
	glob_result_free(&r);
	return s;
}

static void
test_project_files(void **state)
{
	const char *py[] = {"*.py"}, *all[] = {"./**"}, *bad[] = {"{x"};
	const char *tfpat[] = {"*.py", "Tower*"};
	char *got;

	(void)state;
	make_project();
	/* Towerfile not matched: appended after the sorted list */
	got = project_files(py, 1, "main.py");
	assert_string_equal(got, "main.py util.py Towerfile");
	free(got);
	/* matched: exactly once, in its sorted place */
	got = project_files(all, 1, "./main.py");
	assert_string_equal(got, "README.md Towerfile main.py pkg/a.py pkg/sub/b.py util.py");
	free(got);
	got = project_files(tfpat, 2, "pkg/../main.py");
	assert_string_equal(got, "Towerfile main.py util.py");
	free(got);
	got = project_files(py, 1, "pkg/a.py");
	assert_string_equal(got, "ERR script \"pkg/a.py\" is not matched by any "
	    "source pattern");
	free(got);
	got = project_files(py, 1, "/main.py");
	assert_string_equal(got, "ERR script \"/main.py\" is not matched by any "
	    "source pattern");
	free(got);
	got = project_files(bad, 1, "main.py");
	assert_string_equal(got, "ERR resolving source: syntax error in pattern \"{x\"");
	free(got);
}

static void
test_project_files_towerfile_link(void **state)
{
	const char *all[] = {"**"};
	char *got, *tf;

	(void)state;
	mkfile("main.py", "");
	mkfile("conf/Towerfile.real", "[app]\n");
	mklink("conf/Towerfile.real", "Towerfile");
	got = project_files(all, 1, "main.py");
	/* stored as a regular file, never as a link */
	assert_string_equal(got, "Towerfile conf/Towerfile.real main.py");
	free(got);
	/* even when the link points outside the project */
	tf = xasprintf("%s/Towerfile", tmp);
	unlink(tf);
	free(tf);
	mklink("/etc/hostname", "Towerfile");
	got = project_files(all, 1, "main.py");
	assert_string_equal(got, "Towerfile conf/Towerfile.real main.py");
	free(got);
}

static void
test_many_files(void **state)
{
	struct glob_result r;
	struct err err = {0};

	(void)state;
	for (int i = 0; i < 500; i++) {
		char *p = xasprintf("d%02d/f%03d.py", i % 17, i);

		mkfile(p, "x");
		free(p);
	}
	assert_int_equal(glob_resolve(tmp, NULL, 0, &r, &err), 0);
	assert_int_equal(r.n, 500);
	for (size_t i = 1; i < r.n; i++)
		assert_true(strcmp(r.v[i - 1].path, r.v[i].path) < 0);
	assert_true(glob_result_contains(&r, "d03/f003.py"));
	assert_false(glob_result_contains(&r, "d03/f004.py"));
	glob_result_free(&r);
	glob_result_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_star_question),
		cmocka_unit_test(test_match_classes),
		cmocka_unit_test(test_match_utf8),
		cmocka_unit_test(test_match_braces_escapes),
		cmocka_unit_test(test_match_globstar),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test_setup_teardown(test_default_pattern, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hidden_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_patterns_on_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dedup_and_sort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_special_files_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinks_inside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_project_through_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_project, setup, teardown),
		cmocka_unit_test_setup_teardown(test_project_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_project_files_towerfile_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_files, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
