/*
 * toml: recursive-descent TOML 1.0.0 parser. A first pass rejects invalid
 * UTF-8 and control characters everywhere (TOML allows neither anywhere but
 * tab and newlines), so the grammar code only sees clean text. The table
 * rules (what a header, a dotted key or an inline table may define or
 * extend) follow the spec as toml-test reads it; scalars are in toml_scalar.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quote.h"
#include "toml.h"
#include "toml_scalar.h"
#include "util.h"

#define MAX_DEPTH	100	/* nesting of tables and arrays below the root */
#define MAX_KEYS	100	/* parts of one dotted key */

struct key {
	char	*s;
	size_t	 len;
};

struct keys {
	struct key	*k;
	size_t		 len, cap;
};

struct parser {
	const char		*start, *p, *end;
	const char		*lpos;		/* line cache for line_at() */
	unsigned		 lline;
	struct err		*err;
	struct toml_value	*root;
	struct toml_value	*cur;		/* table of the current section */
	unsigned		 cur_depth;
	unsigned		 section;	/* counts [headers]; the root is 1 */
};

static struct toml_value *parse_value(struct parser *ps, unsigned depth);

/* The 1-based line of pos. A cached position moves forwards or backwards,
 * so the cost is the distance from the previous call. */
static unsigned
line_at(struct parser *ps, const char *pos)
{
	while (ps->lpos > pos) {
		ps->lpos--;
		if (*ps->lpos == '\n')
			ps->lline--;
	}
	for (; ps->lpos < pos; ps->lpos++) {
		if (*ps->lpos == '\n')
			ps->lline++;
	}
	return ps->lline;
}

static int __attribute__((format(printf, 3, 4)))
fail_at(struct parser *ps, const char *pos, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(ps->err, ERR_INVALID, "line %u: %s", line_at(ps, pos), msg);
}

static struct toml_value *
value_new(struct parser *ps, enum toml_type type, const char *pos)
{
	struct toml_value *v = xcalloc(1, sizeof(*v));

	v->type = type;
	v->line = line_at(ps, pos);
	return v;
}

static struct toml_value *
table_new(struct parser *ps, enum toml_table_kind kind, const char *pos)
{
	struct toml_value *v = value_new(ps, TOML_TABLE, pos);

	v->u.tab.kind = kind;
	return v;
}

void
toml_free(struct toml_value *v)
{
	size_t i;

	if (v == NULL)
		return;
	switch (v->type) {
	case TOML_ARRAY:
		for (i = 0; i < v->u.arr.len; i++)
			toml_free(v->u.arr.items[i]);
		free(v->u.arr.items);
		break;
	case TOML_TABLE:
		for (i = 0; i < v->u.tab.len; i++) {
			free(v->u.tab.kv[i].key);
			toml_free(v->u.tab.kv[i].val);
		}
		free(v->u.tab.kv);
		free(v->u.tab.index);
		break;
	case TOML_INTEGER:
	case TOML_FLOAT:
	case TOML_BOOL:
		break;
	default:
		free(v->u.str.ptr);
		break;
	}
	free(v);
}

/* ---- tables: insertion-ordered, with a hash index once they grow ---- */

static uint32_t
hash_key(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	while (n-- > 0)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static void
index_put(struct toml_table *t, size_t i)
{
	size_t slot = hash_key(t->kv[i].key, t->kv[i].keylen) & (t->nslots - 1);

	while (t->index[slot] != 0)
		slot = (slot + 1) & (t->nslots - 1);
	t->index[slot] = (uint32_t)(i + 1);
}

static void
index_rebuild(struct toml_table *t)
{
	size_t i;

	free(t->index);
	t->nslots = 64;
	while (t->nslots < t->len * 2)
		t->nslots *= 2;
	t->index = xcalloc(t->nslots, sizeof(*t->index));
	for (i = 0; i < t->len; i++)
		index_put(t, i);
}

static struct toml_value *
table_find(const struct toml_table *t, const char *key, size_t len)
{
	size_t i, slot;

	if (t->index == NULL) {
		for (i = 0; i < t->len; i++) {
			if (t->kv[i].keylen == len && memcmp(t->kv[i].key, key, len) == 0)
				return t->kv[i].val;
		}
		return NULL;
	}
	slot = hash_key(key, len) & (t->nslots - 1);
	for (; t->index[slot] != 0; slot = (slot + 1) & (t->nslots - 1)) {
		i = t->index[slot] - 1;
		if (t->kv[i].keylen == len && memcmp(t->kv[i].key, key, len) == 0)
			return t->kv[i].val;
	}
	return NULL;
}

/* Adds key -> val (the key is copied, val is taken); the key must be new. */
static void
table_add(struct toml_table *t, const struct key *k, struct toml_value *val)
{
	if (t->len == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 8;
		t->kv = xrealloc(t->kv, t->cap * sizeof(*t->kv));
	}
	t->kv[t->len].key = xstrndup(k->s, k->len);
	t->kv[t->len].keylen = k->len;
	t->kv[t->len].val = val;
	t->len++;
	if (t->len >= 16 && t->len * 2 > t->nslots)
		index_rebuild(t);
	else if (t->index != NULL)
		index_put(t, t->len - 1);
}

static void
array_push(struct toml_array *a, struct toml_value *v)
{
	if (a->len == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 4;
		a->items = xrealloc(a->items, a->cap * sizeof(*a->items));
	}
	a->items[a->len++] = v;
}

const struct toml_value *
toml_get(const struct toml_value *t, const char *key, size_t keylen)
{
	if (t == NULL || t->type != TOML_TABLE)
		return NULL;
	return table_find(&t->u.tab, key, keylen);
}

const char *
toml_type_name(const struct toml_value *v)
{
	static const char *const names[] = {
		[TOML_STRING] = "string", [TOML_INTEGER] = "integer",
		[TOML_FLOAT] = "float", [TOML_BOOL] = "bool",
		[TOML_DATETIME] = "datetime", [TOML_DATETIME_LOCAL] = "datetime-local",
		[TOML_DATE_LOCAL] = "date-local", [TOML_TIME_LOCAL] = "time-local",
		[TOML_ARRAY] = "array", [TOML_TABLE] = "table",
	};

	return names[v->type];
}

/* ---- lexical helpers ---- */

static void
skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

static void
skip_comment(struct parser *ps)
{
	while (ps->p < ps->end && *ps->p != '\n' && *ps->p != '\r')
		ps->p++;
}

/* Skips blanks, newlines and comments (inside arrays). */
static void
skip_ws_nl(struct parser *ps)
{
	for (;;) {
		skip_ws(ps);
		if (ps->p == ps->end)
			return;
		if (*ps->p == '#')
			skip_comment(ps);
		else if (*ps->p == '\n' || *ps->p == '\r')
			ps->p++;
		else
			return;
	}
}

static bool
is_bare(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Rejects everything but blanks, a comment and the end of the line. */
static int
expect_eol(struct parser *ps, const char *what)
{
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '#')
		skip_comment(ps);
	if (ps->p == ps->end || *ps->p == '\n' || *ps->p == '\r')
		return 0;
	return fail_at(ps, ps->p, "unexpected text after %s", what);
}

/* ---- keys ---- */

static void
keys_free(struct keys *ks)
{
	size_t i;

	for (i = 0; i < ks->len; i++)
		free(ks->k[i].s);
	free(ks->k);
	ks->k = NULL;
	ks->len = ks->cap = 0;
}

static int
parse_simple_key(struct parser *ps, struct key *k)
{
	const char *s = ps->p, *msg;

	if (s < ps->end && (*s == '"' || *s == '\'')) {
		if (toml_scalar_string(&ps->p, ps->end, false, &k->s, &k->len, &msg) < 0)
			return fail_at(ps, ps->p, "%s", msg);
		return 0;
	}
	while (ps->p < ps->end && is_bare(*ps->p))
		ps->p++;
	if (ps->p == s)
		return fail_at(ps, s, "expected a key");
	k->s = xstrndup(s, (size_t)(ps->p - s));
	k->len = (size_t)(ps->p - s);
	return 0;
}

/* A possibly dotted key; leaves ps->p after the blanks that follow it. */
static int
parse_key(struct parser *ps, struct keys *ks)
{
	for (;;) {
		if (ks->len == MAX_KEYS)
			return fail_at(ps, ps->p, "key has more than %d parts", MAX_KEYS);
		if (ks->len == ks->cap) {
			ks->cap = ks->cap ? ks->cap * 2 : 4;
			ks->k = xrealloc(ks->k, ks->cap * sizeof(*ks->k));
		}
		if (parse_simple_key(ps, &ks->k[ks->len]) < 0)
			return -1;
		ks->len++;
		skip_ws(ps);
		if (ps->p == ps->end || *ps->p != '.')
			return 0;
		ps->p++;
		skip_ws(ps);
	}
}

/* Writes the first n parts of ks as a dotted key, quoting parts that are
 * not bare, into out (for messages). */
static const char *
key_text(const struct keys *ks, size_t n, char *out, size_t outsz)
{
	struct buf b;
	size_t i, j;
	bool bare;

	buf_init(&b, outsz - 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(&b, '.');
		bare = ks->k[i].len > 0;
		for (j = 0; j < ks->k[i].len; j++)
			bare = bare && is_bare(ks->k[i].s[j]);
		if (bare)
			buf_add(&b, ks->k[i].s, ks->k[i].len);
		else
			quote_go(&b, ks->k[i].s, ks->k[i].len);
	}
	snprintf(out, outsz, "%s%s", buf_str(&b), buf_ok(&b) ? "" : "...");
	buf_free(&b);
	return out;
}

/* ---- values ---- */

static int parse_keyval(struct parser *ps, struct toml_value *t, unsigned depth,
    bool in_inline);

static struct toml_value *
parse_array(struct parser *ps, unsigned depth)
{
	struct toml_value *v = value_new(ps, TOML_ARRAY, ps->p), *item;

	ps->p++;
	for (;;) {
		skip_ws_nl(ps);
		if (ps->p < ps->end && *ps->p == ']')
			break;
		item = parse_value(ps, depth + 1);
		if (item == NULL)
			goto fail;
		array_push(&v->u.arr, item);
		skip_ws_nl(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == ']')
			break;
		fail_at(ps, ps->p, "expected ',' or ']' in array");
		goto fail;
	}
	ps->p++;
	return v;
fail:
	toml_free(v);
	return NULL;
}

static struct toml_value *
parse_inline_table(struct parser *ps, unsigned depth)
{
	struct toml_value *v = table_new(ps, TOML_TABLE_INLINE, ps->p);

	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}')
		goto done;
	for (;;) {
		if (parse_keyval(ps, v, depth, true) < 0)
			goto fail;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			skip_ws(ps);
			continue;
		}
		if (ps->p < ps->end && *ps->p == '}')
			goto done;
		fail_at(ps, ps->p, "expected ',' or '}' in inline table");
		goto fail;
	}
done:
	ps->p++;
	v->u.tab.frozen = true;
	return v;
fail:
	toml_free(v);
	return NULL;
}

static struct toml_value *
parse_string_value(struct parser *ps)
{
	struct toml_value *v = value_new(ps, TOML_STRING, ps->p);
	const char *msg;

	if (toml_scalar_string(&ps->p, ps->end, true, &v->u.str.ptr, &v->u.str.len, &msg) < 0) {
		fail_at(ps, ps->p, "%s", msg);
		free(v);
		return NULL;
	}
	return v;
}

/* Parses the value at ps->p; depth is the nesting it will have. Returns the
 * new value, or NULL with ps->err set. */
static struct toml_value *
parse_value(struct parser *ps, unsigned depth)
{
	struct toml_value *v;
	const char *msg;

	if (depth > MAX_DEPTH) {
		fail_at(ps, ps->p, "nesting deeper than %d levels", MAX_DEPTH);
		return NULL;
	}
	if (ps->p == ps->end || *ps->p == '\n' || *ps->p == '\r') {
		fail_at(ps, ps->p, "expected a value");
		return NULL;
	}
	switch (*ps->p) {
	case '"':
	case '\'':
		return parse_string_value(ps);
	case '[':
		return parse_array(ps, depth);
	case '{':
		return parse_inline_table(ps, depth);
	default:
		break;
	}
	v = value_new(ps, TOML_INTEGER, ps->p);
	if (toml_scalar_other(&ps->p, ps->end, v, &msg) < 0) {
		fail_at(ps, ps->p, "%s", msg);
		free(v);
		return NULL;
	}
	return v;
}

/* ---- defining keys ---- */

/* May a dotted key of the current section (or inline table) go through the
 * existing table t? Marks t as extended by this section. */
static bool
dotted_extendable(struct parser *ps, struct toml_value *t, bool in_inline)
{
	struct toml_table *tab = &t->u.tab;

	if (t->type != TOML_TABLE || tab->frozen)
		return false;
	if (in_inline)
		return true;	/* only dotted tables of this inline table are unfrozen */
	if (tab->kind != TOML_TABLE_IMPLICIT && tab->kind != TOML_TABLE_DOTTED)
		return false;
	if (tab->dotted_section != 0 && tab->dotted_section != ps->section)
		return false;
	tab->dotted_section = ps->section;
	return true;
}

/* Stores val (taken on success) under the dotted key ks below table t. */
static int
insert_dotted(struct parser *ps, struct toml_value *t, const struct keys *ks,
    struct toml_value *val, bool in_inline, const char *pos)
{
	struct toml_value *sub;
	char name[200];
	size_t i;

	for (i = 0; i + 1 < ks->len; i++) {
		sub = table_find(&t->u.tab, ks->k[i].s, ks->k[i].len);
		if (sub == NULL) {
			sub = table_new(ps, in_inline ? TOML_TABLE_INLINE : TOML_TABLE_DOTTED, pos);
			sub->u.tab.dotted_section = ps->section;
			table_add(&t->u.tab, &ks->k[i], sub);
		} else if (!dotted_extendable(ps, sub, in_inline)) {
			return fail_at(ps, pos, "cannot add keys to %s with a dotted key: "
			    "it is already defined", key_text(ks, i + 1, name, sizeof(name)));
		}
		t = sub;
	}
	if (table_find(&t->u.tab, ks->k[i].s, ks->k[i].len) != NULL)
		return fail_at(ps, pos, "key %s is already defined",
		    key_text(ks, ks->len, name, sizeof(name)));
	table_add(&t->u.tab, &ks->k[i], val);
	return 0;
}

/* key = value, added to table t whose nesting is depth. */
static int
parse_keyval(struct parser *ps, struct toml_value *t, unsigned depth, bool in_inline)
{
	struct keys ks = { NULL, 0, 0 };
	struct toml_value *val = NULL;
	const char *pos = ps->p;
	int rc = -1;

	if (parse_key(ps, &ks) < 0)
		goto out;
	if (ps->p == ps->end || *ps->p != '=') {
		fail_at(ps, ps->p, "expected '=' after key");
		goto out;
	}
	ps->p++;
	skip_ws(ps);
	val = parse_value(ps, depth + (unsigned)ks.len);
	if (val == NULL)
		goto out;
	if (insert_dotted(ps, t, &ks, val, in_inline, pos) < 0)
		goto out;
	val = NULL;
	rc = 0;
out:
	toml_free(val);
	keys_free(&ks);
	return rc;
}

/* ---- headers ---- */

/* Walks (creating as needed) the parent tables of a header's key; returns
 * the table that will hold the last part, or NULL on error. */
static struct toml_value *
walk_parents(struct parser *ps, const struct keys *ks, const char *pos)
{
	struct toml_value *t = ps->root, *sub;
	char name[200];
	size_t i;

	ps->cur_depth = 0;
	for (i = 0; i + 1 < ks->len; i++) {
		sub = table_find(&t->u.tab, ks->k[i].s, ks->k[i].len);
		if (sub == NULL) {
			sub = table_new(ps, TOML_TABLE_IMPLICIT, pos);
			table_add(&t->u.tab, &ks->k[i], sub);
		} else if (sub->type == TOML_ARRAY && sub->u.arr.of_tables) {
			sub = sub->u.arr.items[sub->u.arr.len - 1];
			ps->cur_depth++;
		} else if (sub->type != TOML_TABLE || sub->u.tab.frozen) {
			fail_at(ps, pos, "key %s is not a table that can be extended",
			    key_text(ks, i + 1, name, sizeof(name)));
			return NULL;
		}
		ps->cur_depth++;
		t = sub;
	}
	return t;
}

/* [a.b.c]: defines a table; only a parent created implicitly may be. */
static int
define_table(struct parser *ps, struct toml_value *parent, const struct keys *ks,
    const char *pos)
{
	const struct key *k = &ks->k[ks->len - 1];
	struct toml_value *t = table_find(&parent->u.tab, k->s, k->len);
	char name[200];

	if (t == NULL) {
		t = table_new(ps, TOML_TABLE_HEADER, pos);
		table_add(&parent->u.tab, k, t);
	} else if (t->type == TOML_TABLE && t->u.tab.kind == TOML_TABLE_IMPLICIT &&
	    t->u.tab.dotted_section == 0) {
		t->u.tab.kind = TOML_TABLE_HEADER;
		t->line = line_at(ps, pos);
	} else {
		return fail_at(ps, pos, "table %s is already defined",
		    key_text(ks, ks->len, name, sizeof(name)));
	}
	ps->cur = t;
	ps->cur_depth++;
	return 0;
}

/* [[a.b.c]]: appends a table to an array of tables. */
static int
define_array_table(struct parser *ps, struct toml_value *parent,
    const struct keys *ks, const char *pos)
{
	const struct key *k = &ks->k[ks->len - 1];
	struct toml_value *a = table_find(&parent->u.tab, k->s, k->len), *t;
	char name[200];

	if (a == NULL) {
		a = value_new(ps, TOML_ARRAY, pos);
		a->u.arr.of_tables = true;
		table_add(&parent->u.tab, k, a);
	} else if (a->type != TOML_ARRAY || !a->u.arr.of_tables) {
		return fail_at(ps, pos, "key %s is already defined and is not an "
		    "array of tables", key_text(ks, ks->len, name, sizeof(name)));
	}
	t = table_new(ps, TOML_TABLE_AOT, pos);
	array_push(&a->u.arr, t);
	ps->cur = t;
	ps->cur_depth += 2;
	return 0;
}

static int
parse_header(struct parser *ps)
{
	const char *pos = ps->p;
	bool aot = ps->end - ps->p >= 2 && ps->p[1] == '[';
	struct keys ks = { NULL, 0, 0 };
	struct toml_value *parent;
	int rc = -1;

	ps->p += aot ? 2 : 1;
	skip_ws(ps);
	if (parse_key(ps, &ks) < 0)
		goto out;
	if (ps->p == ps->end || *ps->p != ']' || (aot && (ps->end - ps->p < 2 || ps->p[1] != ']'))) {
		fail_at(ps, ps->p, "expected '%s' at the end of a table header", aot ? "]]" : "]");
		goto out;
	}
	ps->p += aot ? 2 : 1;
	ps->section++;
	parent = walk_parents(ps, &ks, pos);
	if (parent == NULL)
		goto out;
	if (aot)
		rc = define_array_table(ps, parent, &ks, pos);
	else
		rc = define_table(ps, parent, &ks, pos);
	if (rc == 0 && ps->cur_depth > MAX_DEPTH)
		rc = fail_at(ps, pos, "nesting deeper than %d levels", MAX_DEPTH);
out:
	keys_free(&ks);
	return rc;
}

/* ---- the document ---- */

/* Rejects invalid UTF-8 and control characters other than tab, LF and the
 * CR of a CRLF: TOML allows them nowhere, not even in comments. */
static int
check_text(struct parser *ps)
{
	const unsigned char *p = (const unsigned char *)ps->start;
	const unsigned char *end = (const unsigned char *)ps->end;
	uint32_t cp;
	size_t len;

	while (p < end) {
		if (*p >= 0x80) {
			len = quote_utf8_decode(p, (size_t)(end - p), &cp);
			if (len == 0)
				return fail_at(ps, (const char *)p, "invalid UTF-8");
			p += len;
			continue;
		}
		if (*p == '\r' && (p + 1 == end || p[1] != '\n'))
			return fail_at(ps, (const char *)p, "carriage return without newline");
		if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f)
			return fail_at(ps, (const char *)p,
			    "control character U+%04X is not allowed", *p);
		p++;
	}
	return 0;
}

static int
parse_document(struct parser *ps)
{
	if (ps->end - ps->p >= 3 && memcmp(ps->p, "\xef\xbb\xbf", 3) == 0)
		ps->p += 3;
	for (;;) {
		skip_ws(ps);
		if (ps->p == ps->end)
			return 0;
		switch (*ps->p) {
		case '\r':
		case '\n':
			ps->p++;
			continue;
		case '#':
			skip_comment(ps);
			continue;
		case '[':
			if (parse_header(ps) < 0 || expect_eol(ps, "table header") < 0)
				return -1;
			break;
		default:
			if (parse_keyval(ps, ps->cur, ps->cur_depth, false) < 0 ||
			    expect_eol(ps, "value") < 0)
				return -1;
			break;
		}
	}
}

int
toml_parse(const char *text, size_t len, struct toml_value **out, struct err *err)
{
	struct parser ps;

	memset(&ps, 0, sizeof(ps));
	ps.start = ps.p = ps.lpos = text;
	ps.end = text + len;
	ps.lline = 1;
	ps.err = err;
	ps.section = 1;
	*out = NULL;
	if (check_text(&ps) < 0)
		return -1;
	ps.root = table_new(&ps, TOML_TABLE_ROOT, text);
	ps.cur = ps.root;
	if (parse_document(&ps) < 0) {
		toml_free(ps.root);
		return -1;
	}
	*out = ps.root;
	return 0;
}
