/*
 * glob: source patterns of towerfile.md §6.2-§6.4. A pattern is cleaned,
 * checked for syntax, brace-expanded into plain alternatives and split into
 * elements; a walker then follows the elements down real directories only
 * (lstat, never through a link). Matches are filtered, sorted, de-duplicated
 * and their symbolic links resolved against the project root.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "glob.h"
#include "quote.h"
#include "towerfile.h"
#include "util.h"

#define MAX_ALTERNATIVES 4096	/* brace expansions of one pattern */

/* A list of strings that grows. */
struct strv {
	char	**v;
	size_t	  n, cap;
};

static void
strv_push(struct strv *s, char *str)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = str;
}

static void
strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lexically cleaned copy of p (Go path.Clean). */
static char *
clean_dup(const char *p)
{
	size_t sz = strlen(p) + 2;
	char *out = xmalloc(sz);

	if (towerfile_clean_path(p, out, sz) != 0) {
		free(out);
		return xstrdup(".");	/* cannot happen: the output always fits */
	}
	return out;
}

/* ---- syntax ---------------------------------------------------------- */

/* Go's getEsc: one class character at p[*k], escaped or not; '-' and ']'
 * must be escaped, invalid UTF-8 and a class cut short are errors. */
static int
class_char(const char *p, size_t *k)
{
	uint32_t cp;
	size_t len;

	if (p[*k] == '\0' || p[*k] == '-' || p[*k] == ']')
		return -1;
	if (p[*k] == '\\' && p[++*k] == '\0')
		return -1;
	len = quote_utf8_decode((const unsigned char *)p + *k,
	    strnlen(p + *k, 4), &cp);
	if (len == 0)
		return -1;
	*k += len;
	return p[*k] == '\0' ? -1 : 0;
}

/* Checks a class starting after '[' at p[*i]; advances *i past ']'.
 * Go path.Match rules: optional '^' (or '!'), then one or more items `c` or
 * `c-c`. */
static int
check_class(const char *p, size_t *i)
{
	size_t k = *i, nrange = 0;

	if (p[k] == '^' || p[k] == '!')
		k++;
	for (;;) {
		if (p[k] == ']' && nrange > 0) {
			*i = k + 1;
			return 0;
		}
		if (class_char(p, &k) != 0)
			return -1;
		if (p[k] == '-') {
			k++;
			if (class_char(p, &k) != 0)
				return -1;
		}
		nrange++;
	}
}

/* 0 when p is a well-formed pattern, -1 otherwise. */
static int
check_syntax(const char *p)
{
	size_t i = 0;
	int depth = 0;

	while (p[i] != '\0') {
		switch (p[i]) {
		case '\\':
			if (p[i + 1] == '\0')
				return -1;
			i += 2;
			break;
		case '[':
			i++;
			if (check_class(p, &i) != 0)
				return -1;
			break;
		case '{':
			depth++;
			i++;
			break;
		case '}':
			if (depth > 0)
				depth--;
			i++;
			break;
		default:
			i++;
		}
	}
	return depth == 0 ? 0 : -1;
}

/* ---- brace expansion -------------------------------------------------- */

/* Index just past the class or escape starting at p[i], or i + 1. */
static size_t
skip_token(const char *p, size_t i)
{
	if (p[i] == '\\')
		return i + 2;
	if (p[i] == '[') {
		size_t k = i + 1;

		(void)check_class(p, &k);	/* already checked */
		return k;
	}
	return i + 1;
}

/* Expands the first top-level {…} of p (well-formed) recursively into out.
 * Returns -1 when more than MAX_ALTERNATIVES would result. */
static int
expand(const char *p, struct strv *out)
{
	size_t i = 0, open, close, start;
	int depth = 0;

	while (p[i] != '\0' && p[i] != '{')
		i = skip_token(p, i);
	if (p[i] == '\0') {
		if (out->n >= MAX_ALTERNATIVES)
			return -1;
		strv_push(out, xstrdup(p));
		return 0;
	}
	open = i;
	for (close = open; p[close] != '\0'; close = skip_token(p, close)) {
		if (p[close] == '{')
			depth++;
		else if (p[close] == '}' && --depth == 0)
			break;
	}
	start = open + 1;
	depth = 0;
	for (i = start; i <= close; i = skip_token(p, i)) {
		if (p[i] == '{')
			depth++;
		else if (p[i] == '}' && i != close)
			depth--;
		if ((p[i] == ',' && depth == 0) || i == close) {
			char *alt = xasprintf("%.*s%.*s%s", (int)open, p,
			    (int)(i - start), p + start, p + close + 1);
			int rc = expand(alt, out);

			free(alt);
			if (rc != 0)
				return -1;
			start = i + 1;
		}
	}
	return 0;
}

/* ---- matching ---------------------------------------------------------- */

/* Length of the character at s (a UTF-8 sequence, or 1 for an invalid
 * byte) and its code point (U+FFFD for an invalid byte). */
static size_t
char_at(const char *s, uint32_t *cp)
{
	size_t n = strnlen(s, 4);
	size_t len = n ? quote_utf8_decode((const unsigned char *)s, n, cp) : 0;

	if (len == 0) {
		*cp = 0xFFFD;
		return 1;
	}
	return len;
}

/* Matches the class at pat (just after '[') against cp; sets *end past ']'. */
static bool
match_class(const char *pat, uint32_t cp, const char **end)
{
	bool neg = false, hit = false;
	uint32_t lo, hi;
	size_t nrange = 0;

	if (*pat == '^' || *pat == '!') {
		neg = true;
		pat++;
	}
	while (!(*pat == ']' && nrange > 0)) {
		if (*pat == '\\')
			pat++;
		pat += char_at(pat, &lo);
		hi = lo;
		if (*pat == '-') {
			pat++;
			if (*pat == '\\')
				pat++;
			pat += char_at(pat, &hi);
		}
		if (lo <= cp && cp <= hi)
			hit = true;
		nrange++;
	}
	*end = pat + 1;
	return hit != neg;
}

/* Matches one non-star token of pat against the character at name; on a
 * match advances both. */
static bool
match_one(const char **pat, const char **name)
{
	const char *p = *pat, *end;
	uint32_t cp, pcp;
	size_t nlen = char_at(*name, &cp), plen;

	if (**name == '\0')
		return false;
	if (*p == '?') {
		end = p + 1;
	} else if (*p == '[') {
		if (!match_class(p + 1, cp, &end))
			return false;
	} else {
		if (*p == '\\')
			p++;
		plen = char_at(p, &pcp);
		if (plen != nlen || memcmp(p, *name, plen) != 0)
			return false;
		end = p + plen;
	}
	*pat = end;
	*name += nlen;
	return true;
}

/* Matches one path element (no '/') against a well-formed element pattern;
 * `*` (and `**` inside an element) is any run of characters. */
static bool
match_elem(const char *pat, const char *name)
{
	const char *star_p = NULL, *star_n = NULL;
	uint32_t cp;

	while (*name != '\0') {
		if (*pat == '*') {
			while (*pat == '*')
				pat++;
			star_p = pat;
			star_n = name;
			continue;
		}
		if (*pat != '\0' && match_one(&pat, &name))
			continue;
		if (star_p == NULL)
			return false;
		star_n += char_at(star_n, &cp);
		name = star_n;
		pat = star_p;
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

/* True when the element has no unescaped wildcard. */
static bool
is_literal(const char *e)
{
	for (; *e != '\0'; e++) {
		if (*e == '\\' && e[1] != '\0')
			e++;
		else if (*e == '*' || *e == '?' || *e == '[')
			return false;
	}
	return true;
}

/* The element with escapes removed (for a literal element). */
static char *
unescape(const char *e)
{
	char *out = xmalloc(strlen(e) + 1), *o = out;

	for (; *e != '\0'; e++) {
		if (*e == '\\' && e[1] != '\0')
			e++;
		*o++ = *e;
	}
	*o = '\0';
	return out;
}

/* ---- patterns -------------------------------------------------------- */

/* A pattern ready for walking: its alternatives, each a list of elements. */
struct pattern {
	struct strv	*alts;		/* elements of each alternative */
	size_t		 nalts;
	bool		 hide;		/* the hidden-file rule applies */
};

static void
pattern_free(struct pattern *pt)
{
	for (size_t i = 0; i < pt->nalts; i++)
		strv_free(&pt->alts[i]);
	free(pt->alts);
	memset(pt, 0, sizeof(*pt));
}

/* The hidden-file rule applies when no element of the raw pattern starts
 * with '.'; empty and "." elements (a leading "./") do not count. */
static bool
hidden_rule_applies(const char *p)
{
	const char *e = p;

	for (;;) {
		size_t len = strcspn(e, "/");

		if (len > 0 && e[0] == '.' && !(len == 1))
			return false;
		if (e[len] == '\0')
			return true;
		e += len + 1;
	}
}

/* Splits a cleaned path into its elements ("." has none). */
static void
split_plain(const char *p, struct strv *out)
{
	if (strcmp(p, ".") == 0)
		return;
	for (;;) {
		size_t len = strcspn(p, "/");

		strv_push(out, xstrndup(p, len));
		if (p[len] == '\0')
			return;
		p += len + 1;
	}
}

/* Splits a cleaned alternative into elements, checking each one's syntax
 * (a class cannot span a '/'); consecutive "**" collapse into one. */
static int
split_elems(const char *alt, struct strv *out)
{
	struct strv all = {0};
	int rc = 0;

	split_plain(alt, &all);
	for (size_t i = 0; i < all.n; i++) {
		if (rc == 0 && check_syntax(all.v[i]) != 0)
			rc = -1;
		if (rc != 0 || (strcmp(all.v[i], "**") == 0 && out->n > 0 &&
		    strcmp(out->v[out->n - 1], "**") == 0)) {
			free(all.v[i]);
			continue;
		}
		strv_push(out, all.v[i]);
	}
	free(all.v);
	return rc;
}

/* Compiles raw into *pt: leading '/' removed, cleaned, syntax-checked,
 * brace-expanded. Alternatives that would leave the root are dropped. */
static int
pattern_compile(const char *raw, struct pattern *pt, struct err *err)
{
	struct strv alts = {0};
	const char *p = raw;
	char *cleaned = NULL, *q = NULL;
	int rc = -1;

	memset(pt, 0, sizeof(*pt));
	while (*p == '/')
		p++;
	pt->hide = hidden_rule_applies(p);
	cleaned = clean_dup(p);
	if (check_syntax(cleaned) != 0)
		goto syntax;
	if (expand(cleaned, &alts) != 0) {
		q = quote_go_str(raw);
		err_set(err, ERR_INVALID, "pattern %s has too many alternatives", q);
		goto out;
	}
	pt->alts = xcalloc(alts.n, sizeof(*pt->alts));
	for (size_t i = 0; i < alts.n; i++) {
		const char *a = alts.v[i];
		char *c;

		while (*a == '/')
			a++;
		c = clean_dup(a);
		if (towerfile_path_traverses(c)) {
			free(c);
			continue;
		}
		if (split_elems(c, &pt->alts[pt->nalts++]) != 0) {
			free(c);
			goto syntax;
		}
		free(c);
	}
	rc = 0;
	goto out;
syntax:
	q = quote_go_str(raw);
	err_set(err, ERR_INVALID, "syntax error in pattern %s", q);
out:
	if (rc != 0)
		pattern_free(pt);
	free(q);
	free(cleaned);
	strv_free(&alts);
	return rc;
}

/* ---- walking ---------------------------------------------------------- */

struct walk {
	const char	 *root;		/* realpath of the project */
	struct strv	 *elems;	/* of the alternative being walked */
	bool		  hide;
	struct strv	 *matches;	/* relative paths, possibly repeated */
	struct err	 *err;
};

static char *
join_rel(const char *rel, const char *name)
{
	return *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);
}

static char *
abs_path(const char *root, const char *rel)
{
	if (*rel == '\0')
		return xstrdup(root);
	return xasprintf("%s%s%s", root, strcmp(root, "/") ? "/" : "", rel);
}

/* True when an element of rel starts with '.'. */
static bool
is_hidden(const char *rel)
{
	for (const char *e = rel; *e != '\0'; e += strcspn(e, "/"), e += *e == '/')
		if (*e == '.')
			return true;
	return false;
}

static void
emit(struct walk *w, const char *rel)
{
	if (*rel != '\0' && !(w->hide && is_hidden(rel)))
		strv_push(w->matches, xstrdup(rel));
}

static int walk_at(struct walk *w, const char *rel, size_t idx, bool is_dir);

/* Visits the child name of directory rel when it exists. */
static int
walk_child(struct walk *w, const char *rel, const char *name, size_t idx)
{
	char *crel = join_rel(rel, name), *cabs = abs_path(w->root, crel);
	struct stat st;
	int rc = 0;

	if (lstat(cabs, &st) == 0)
		rc = walk_at(w, crel, idx, S_ISDIR(st.st_mode));
	free(cabs);
	free(crel);
	return rc;
}

/* Calls walk_child(next) for every child of rel whose name matches elem
 * (NULL: every child), skipping dot-names when the hidden rule applies. */
static int
walk_dir(struct walk *w, const char *rel, const char *elem, size_t next)
{
	char *dabs = abs_path(w->root, rel);
	DIR *d = opendir(dabs);
	struct dirent *de;
	int rc = 0;

	if (d == NULL) {
		if (errno != EACCES && errno != ENOENT && errno != ENOTDIR)
			rc = err_set(w->err, ERR_INVALID, "%s: %s", dabs, strerror(errno));
		free(dabs);
		return rc;
	}
	while (rc == 0 && (errno = 0, de = readdir(d)) != NULL) {
		const char *n = de->d_name;

		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		if (w->hide && n[0] == '.')
			continue;
		if (elem == NULL || match_elem(elem, n))
			rc = walk_child(w, rel, n, next);
	}
	if (rc == 0 && errno != 0)
		rc = err_set(w->err, ERR_INVALID, "%s: %s", dabs, strerror(errno));
	closedir(d);
	free(dabs);
	return rc;
}

/* Matches elements idx.. below rel (a real directory when is_dir). */
static int
walk_at(struct walk *w, const char *rel, size_t idx, bool is_dir)
{
	const char *e;
	int rc = 0;

	if (idx == w->elems->n) {
		emit(w, rel);
		return 0;
	}
	e = w->elems->v[idx];
	if (!is_dir) {
		if (idx + 1 == w->elems->n && strcmp(e, "**") == 0)
			emit(w, rel);
		return 0;
	}
	if (strcmp(e, "**") == 0) {
		rc = walk_at(w, rel, idx + 1, true);
		if (rc == 0)
			rc = walk_dir(w, rel, NULL, idx);
	} else if (is_literal(e)) {
		char *name = unescape(e);

		if (!(w->hide && name[0] == '.'))
			rc = walk_child(w, rel, name, idx + 1);
		free(name);
	} else {
		rc = walk_dir(w, rel, e, idx + 1);
	}
	return rc;
}

/* ---- results ---------------------------------------------------------- */

/* Path from directory from_dir to to (both relative to the root, "" for
 * the root itself), "." when they are the same. */
static char *
relative_target(const char *from_dir, const char *to)
{
	struct buf b;
	const char *f = from_dir, *t = to;

	/* skip the common leading elements */
	for (;;) {
		size_t fl = strcspn(f, "/"), tl = strcspn(t, "/");

		if (fl == 0 || fl != tl || memcmp(f, t, fl) != 0)
			break;
		f += fl + (f[fl] == '/');
		t += tl + (t[tl] == '/');
	}
	buf_init(&b, SIZE_MAX / 2);
	while (*f != '\0') {
		size_t fl = strcspn(f, "/");

		buf_adds(&b, b.len ? "/.." : "..");
		f += fl + (f[fl] == '/');
	}
	if (*t != '\0') {
		if (b.len)
			buf_addc(&b, '/');
		buf_adds(&b, t);
	}
	if (b.len == 0)
		buf_adds(&b, ".");
	return buf_take(&b);
}

/* Resolves the link at rel completely and stores its relative target. */
static int
resolve_link(const char *root, struct glob_entry *ge, struct err *err)
{
	char *abs = abs_path(root, ge->path), *res = realpath(abs, NULL);
	char *q = quote_go_str(abs), *dir = NULL;
	size_t rl = strlen(root);
	const char *inside = NULL;
	int rc = -1;

	if (res == NULL) {
		err_set(err, ERR_INVALID, "resolving symlink %s: %s", q, strerror(errno));
		goto out;
	}
	if (strcmp(res, root) == 0)
		inside = "";
	else if (strcmp(root, "/") == 0)
		inside = res + 1;
	else if (strncmp(res, root, rl) == 0 && res[rl] == '/')
		inside = res + rl + 1;
	if (inside == NULL) {
		err_set(err, ERR_INVALID, "symlink %s points outside the project root", q);
		goto out;
	}
	dir = xstrdup(ge->path);
	*(strrchr(dir, '/') ? strrchr(dir, '/') : dir) = '\0';
	ge->is_symlink = true;
	ge->link_target = relative_target(dir, inside);
	rc = 0;
out:
	free(dir);
	free(q);
	free(res);
	free(abs);
	return rc;
}

/* Turns the sorted, unique relative paths into entries: regular files and
 * links are kept (links resolved), everything else is skipped. A root
 * "Towerfile" link is left unresolved when keep_towerfile is set. */
static int
collect(const char *root, struct strv *paths, bool keep_towerfile,
    struct glob_result *out, struct err *err)
{
	out->v = xcalloc(paths->n + 1, sizeof(*out->v));
	for (size_t i = 0; i < paths->n; i++) {
		char *abs = abs_path(root, paths->v[i]);
		struct glob_entry *ge = &out->v[out->n];
		struct stat st;
		int rc = lstat(abs, &st);

		free(abs);
		if (rc != 0 || !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
			continue;
		ge->path = paths->v[i];
		paths->v[i] = NULL;
		out->n++;
		if (S_ISLNK(st.st_mode) && !(keep_towerfile &&
		    strcmp(ge->path, "Towerfile") == 0) &&
		    resolve_link(root, ge, err) != 0)
			return -1;
	}
	return 0;
}

static int
resolve(const char *project_dir, const char *const *patterns, size_t npatterns,
    bool keep_towerfile, struct glob_result *out, struct err *err)
{
	static const char *const dflt[] = {"./**"};
	struct strv matches = {0};
	size_t n = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (npatterns == 0) {
		patterns = dflt;
		npatterns = 1;
	}
	out->root = realpath(project_dir, NULL);
	if (out->root == NULL) {
		err_set(err, ERR_INVALID, "%s: %s", project_dir, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < npatterns; i++) {
		struct pattern pt;

		if (pattern_compile(patterns[i], &pt, err) != 0)
			goto out;
		for (size_t a = 0; a < pt.nalts; a++) {
			struct walk w = {out->root, &pt.alts[a], pt.hide, &matches, err};

			if (walk_at(&w, "", 0, true) != 0) {
				pattern_free(&pt);
				goto out;
			}
		}
		pattern_free(&pt);
	}
	if (matches.n > 1)
		qsort(matches.v, matches.n, sizeof(*matches.v), cmp_str);
	for (size_t i = 0; i < matches.n; i++) {
		if (n > 0 && strcmp(matches.v[n - 1], matches.v[i]) == 0)
			free(matches.v[i]);
		else
			matches.v[n++] = matches.v[i];
	}
	matches.n = n;
	rc = collect(out->root, &matches, keep_towerfile, out, err);
out:
	strv_free(&matches);
	if (rc != 0)
		glob_result_free(out);
	return rc;
}

int
glob_resolve(const char *project_dir, const char *const *patterns,
    size_t npatterns, struct glob_result *out, struct err *err)
{
	return resolve(project_dir, patterns, npatterns, false, out, err);
}

static int
cmp_entry_path(const void *key, const void *ent)
{
	return strcmp(key, ((const struct glob_entry *)ent)->path);
}

bool
glob_result_contains(const struct glob_result *r, const char *path)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].path, path) == 0)
			return true;
	return false;
}

int
glob_project_files(const char *project_dir, const char *const *patterns,
    size_t npatterns, const char *script, struct glob_result *out,
    struct err *err)
{
	struct glob_entry *tf;
	char *cs = clean_dup(script), *q;

	if (resolve(project_dir, patterns, npatterns, true, out, err) != 0) {
		free(cs);
		return err_prefix(err, "resolving source: ");
	}
	if (bsearch(cs, out->v, out->n, sizeof(*out->v), cmp_entry_path) == NULL) {
		free(cs);
		glob_result_free(out);
		q = quote_go_str(script);
		err_set(err, ERR_INVALID, "script %s is not matched by any source pattern", q);
		free(q);
		return -1;
	}
	free(cs);
	tf = bsearch("Towerfile", out->v, out->n, sizeof(*out->v), cmp_entry_path);
	if (tf == NULL) {
		tf = &out->v[out->n++];	/* collect() left room for one more */
		tf->path = xstrdup("Towerfile");
	}
	tf->is_symlink = false;
	free(tf->link_target);
	tf->link_target = NULL;
	return 0;
}

void
glob_result_free(struct glob_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].path);
		free(r->v[i].link_target);
	}
	free(r->v);
	free(r->root);
	memset(r, 0, sizeof(*r));
}

/* Matches path elements pe[0..np) against pattern elements el[0..ne). */
static bool
match_elems(char *const *el, size_t ne, char *const *pe, size_t np)
{
	if (ne == 0)
		return np == 0;
	if (strcmp(el[0], "**") == 0) {
		for (size_t k = 0; k <= np; k++)
			if (match_elems(el + 1, ne - 1, pe + k, np - k))
				return true;
		return false;
	}
	return np > 0 && match_elem(el[0], pe[0]) &&
	    match_elems(el + 1, ne - 1, pe + 1, np - 1);
}

int
glob_match(const char *pattern, const char *path, struct err *err)
{
	struct pattern pt;
	struct strv pe = {0};
	char *cp;
	int hit = 0;

	if (pattern_compile(pattern, &pt, err) != 0)
		return -1;
	while (*path == '/')
		path++;
	cp = clean_dup(path);
	split_plain(cp, &pe);
	for (size_t a = 0; a < pt.nalts && !hit; a++)
		hit = match_elems(pt.alts[a].v, pt.alts[a].n, pe.v, pe.n);
	strv_free(&pe);
	free(cp);
	pattern_free(&pt);
	return hit;
}
