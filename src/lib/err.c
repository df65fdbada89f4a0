/*
 * err: filling and prefixing struct err. Messages are truncated to fit the
 * fixed buffer; they are meant for humans and short by construction.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

int
err_set(struct err *err, enum err_code code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int
err_prefix(struct err *err, const char *fmt, ...)
{
	char old[sizeof(err->msg)], pre[sizeof(err->msg)];
	va_list ap;

	if (err == NULL)
		return -1;
	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	snprintf(err->msg, sizeof(err->msg), "%s%s", pre, old);
	return -1;
}

void
err_clear(struct err *err)
{
	if (err == NULL)
		return;
	err->code = ERR_NONE;
	err->msg[0] = '\0';
}
