/*
 * tmpdir: the temporary-directory fixture of the file-system unit tests.
 * tmpdir_setup makes a fresh mkdtemp directory in `tmp`; tmpdir_teardown
 * removes it whole (modes restored first, so read-only trees go too).
 * Header-only: each test binary is built from one .c file.
 */
#ifndef MT_TEST_TMPDIR_H
#define MT_TEST_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "util.h"

static char *tmp;	/* the current test's directory */

static int
tmpdir_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		chmod(p, 0700);
	return remove(p);
}

/* Makes tmp from tpl, a mkdtemp template ("/tmp/mt-x-XXXXXX"). */
static void
tmpdir_setup(const char *tpl)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s", tpl);
	assert_non_null(mkdtemp(buf));
	tmp = xstrdup(buf);
}

static void
tmpdir_teardown(void)
{
	nftw(tmp, tmpdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(tmp);
	tmp = NULL;
}

#endif
