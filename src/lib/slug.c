/*
 * slug: validation of slugs. The regex is checked by hand; a NUL byte is
 * simply a character the regex does not allow.
 */
#include <string.h>

#include "slug.h"

static const char *const reserved[] = {
	"api", "admin", "system", "internal", "default",
};

static int
is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static int
matches_regex(const char *s, size_t n)
{
	size_t i;

	if (!is_lower(s[0]))
		return 0;
	for (i = 1; i < n; i++) {
		if (!is_lower(s[i]) && !(s[i] >= '0' && s[i] <= '9') && s[i] != '-')
			return 0;
	}
	return 1;
}

int
slug_check(const char *s, size_t n, struct err *err)
{
	size_t i;

	if (n == 0)
		return err_set(err, ERR_INVALID_SLUG, "slug cannot be empty");
	if (n < 3)
		return err_set(err, ERR_INVALID_SLUG, "slug must be at least 3 characters");
	if (n > 32)
		return err_set(err, ERR_INVALID_SLUG, "slug must be at most 32 characters");
	if (!matches_regex(s, n))
		return err_set(err, ERR_INVALID_SLUG, "slug must start with a letter "
		    "and contain only lowercase letters, numbers, and hyphens");
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		if (strlen(reserved[i]) == n && memcmp(reserved[i], s, n) == 0)
			return err_set(err, ERR_INVALID_SLUG, "slug is reserved");
	}
	return 0;
}
