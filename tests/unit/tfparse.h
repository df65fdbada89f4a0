/*
 * Towerfile test helpers shared by test_towerfile.c and
 * test_towerfile_limits.c: parse a text that must parse, or must fail with
 * exactly the given TOWERFILE_INVALID message.
 */
#ifndef MT_TEST_TFPARSE_H
#define MT_TEST_TFPARSE_H

#define APP "[app]\nname = \"hello\"\nscript = \"main.py\"\n"

static struct towerfile *
parse_ok(const char *text)
{
	struct towerfile *tf = NULL;
	struct err err;

	err_clear(&err);
	if (towerfile_parse(text, strlen(text), &tf, &err) != 0)
		fail_msg("unexpected parse error: %s", err.msg);
	return tf;
}

static void
parse_bad(const char *text, const char *want)
{
	struct towerfile *tf = NULL;
	struct err err;

	err_clear(&err);
	assert_int_equal(towerfile_parse(text, strlen(text), &tf, &err), -1);
	assert_null(tf);
	assert_int_equal(err.code, ERR_TOWERFILE_INVALID);
	assert_string_equal(err.msg, want);
}

#endif
