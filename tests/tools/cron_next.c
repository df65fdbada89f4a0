/*
 * cron_next: a line-oriented front end of src/lib/cron.c for the
 * differential test against croniter (tests/api/test_cron_diff.py) and for
 * people. Reads "expr<TAB>tz<TAB>after[<TAB>count]" lines (after in Unix
 * seconds, count default 1) and writes one line per input: the next count
 * fire times in Unix seconds separated by spaces, or "error: <message>".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "util.h"

#define LINE_MAX_BYTES 4096

/* Splits line at tabs into at most 4 fields; returns the count. */
static int
split_tabs(char *line, char **f)
{
	int n = 0;

	f[n++] = line;
	while (n < 4 && (line = strchr(line, '\t')) != NULL) {
		*line++ = '\0';
		f[n++] = line;
	}
	return n;
}

static void
answer(char **f, int n)
{
	struct cron c;
	struct err err;
	int64_t t, count = 1, i;

	err_clear(&err);
	if (n < 3 || parse_i64(f[2], &t) != 0 || (n == 4 && (parse_i64(f[3], &count) != 0 ||
	    count < 1 || count > 1000))) {
		printf("error: want expr<TAB>tz<TAB>after[<TAB>count]\n");
		return;
	}
	if (cron_parse(f[0], &c, &err) != 0) {
		printf("error: %s\n", err.msg);
		return;
	}
	for (i = 0; i < count; i++) {
		if (cron_next(&c, f[1], t, &t, &err) != 0) {
			printf("%serror: %s", i > 0 ? " " : "", err.msg);
			break;
		}
		printf("%s%" PRId64, i > 0 ? " " : "", t);
	}
	printf("\n");
}

int
main(void)
{
	char line[LINE_MAX_BYTES], *f[4];
	size_t len;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		answer(f, split_tabs(line, f));
		fflush(stdout);
	}
	return 0;
}
