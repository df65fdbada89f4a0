/*
 * linesplit: a byte-at-a-time UTF-8 validator feeding a bounded line buffer.
 * Ill-formed input is replaced following the Unicode "maximal subpart"
 * practice; the buffer is cut at the last character boundary once it holds
 * more than LINESPLIT_MAX bytes, so a cut never leaves an empty piece behind.
 */
#include <string.h>

#include "linesplit.h"

static const char replacement[] = "\xEF\xBF\xBD";

void
linesplit_init(struct linesplit *ls, linesplit_emit_fn emit, void *arg)
{
	memset(ls, 0, sizeof(*ls));
	ls->emit = emit;
	ls->arg = arg;
}

static void
emit_line(struct linesplit *ls, size_t n)
{
	char save = ls->line[n];

	ls->line[n] = '\0';
	ls->emit(ls->arg, ls->line, n);
	ls->line[n] = save;
}

/* Appends sanitized bytes; cuts a piece when the line grew past the cap. */
static void
append(struct linesplit *ls, const char *p, size_t n)
{
	size_t cut;

	memcpy(ls->line + ls->len, p, n);
	ls->len += n;
	ls->any = true;
	if (ls->len <= LINESPLIT_MAX)
		return;
	cut = LINESPLIT_MAX;
	while (cut > 0 && ((unsigned char)ls->line[cut] & 0xC0) == 0x80)
		cut--;
	emit_line(ls, cut);
	memmove(ls->line, ls->line + cut, ls->len - cut);
	ls->len -= cut;
}

static void
end_line(struct linesplit *ls)
{
	emit_line(ls, ls->len);
	ls->len = 0;
	ls->any = false;
}

static void
flush_cr(struct linesplit *ls)
{
	if (ls->cr) {
		ls->cr = false;
		append(ls, "\r", 1);
	}
}

/* Length of the sequence a lead byte starts; 0 when it is no lead byte. */
static size_t
seq_len(unsigned char b)
{
	if (b >= 0xC2 && b <= 0xDF)
		return 2;
	if (b >= 0xE0 && b <= 0xEF)
		return 3;
	if (b >= 0xF0 && b <= 0xF4)
		return 4;
	return 0;
}

/* Is b acceptable as byte number idx (1..3) after lead? */
static bool
cont_ok(unsigned char lead, size_t idx, unsigned char b)
{
	unsigned char lo = 0x80, hi = 0xBF;

	if (idx == 1) {
		if (lead == 0xE0)
			lo = 0xA0;
		else if (lead == 0xED)
			hi = 0x9F;
		else if (lead == 0xF0)
			lo = 0x90;
		else if (lead == 0xF4)
			hi = 0x8F;
	}
	return b >= lo && b <= hi;
}

static void
ascii(struct linesplit *ls, unsigned char b)
{
	if (b == '\n') {
		ls->cr = false;
		end_line(ls);
		return;
	}
	flush_cr(ls);
	if (b == '\r') {
		ls->cr = true;
		ls->any = true;
	} else if (b == 0) {
		append(ls, replacement, 3);
	} else {
		char c = (char)b;

		append(ls, &c, 1);
	}
}

static void
byte(struct linesplit *ls, unsigned char b)
{
	if (ls->npart > 0) {
		if (cont_ok(ls->part[0], ls->npart, b)) {
			ls->part[ls->npart++] = b;
			if (ls->npart == ls->need) {
				append(ls, (const char *)ls->part, ls->npart);
				ls->npart = 0;
			}
			return;
		}
		append(ls, replacement, 3);	/* the maximal subpart */
		ls->npart = 0;
	}
	if (b < 0x80) {
		ascii(ls, b);
		return;
	}
	flush_cr(ls);
	ls->need = seq_len(b);
	if (ls->need == 0) {
		append(ls, replacement, 3);
		return;
	}
	ls->part[0] = b;
	ls->npart = 1;
	ls->any = true;
}

void
linesplit_feed(struct linesplit *ls, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		byte(ls, (unsigned char)p[i]);
}

void
linesplit_finish(struct linesplit *ls)
{
	if (ls->npart > 0) {
		append(ls, replacement, 3);
		ls->npart = 0;
	}
	ls->cr = false;		/* a trailing '\r' is removed */
	if (ls->any || ls->len > 0)
		end_line(ls);
}
