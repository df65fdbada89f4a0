/*
 * TEMPORARY stand-in for the path helpers that towerfile.h will export
 * (towerfile_clean_path, towerfile_path_traverses); deleted as soon as
 * towerfile.h lands. Only glob.c and archive.c include it.
 */
#ifndef MT_TOWERFILE_PATH_COMPAT_H
#define MT_TOWERFILE_PATH_COMPAT_H

#include <stdbool.h>
#include <string.h>

/* Go path.Clean of in into out; -1 when out is too small. */
static inline int
towerfile_clean_path(const char *in, char *out, size_t outsz)
{
	size_t n = strlen(in), r = 0, w = 0, dotdot = 0;
	bool rooted = n > 0 && in[0] == '/';

	if (outsz < n + 2)
		return -1;
	if (rooted) {
		out[w++] = '/';
		r = dotdot = 1;
	}
	while (r < n) {
		if (in[r] == '/') {
			r++;
		} else if (in[r] == '.' && (r + 1 == n || in[r + 1] == '/')) {
			r++;
		} else if (in[r] == '.' && in[r + 1] == '.' &&
		    (r + 2 == n || in[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			while (r < n && in[r] != '/')
				out[w++] = in[r++];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return 0;
}

/* True when the cleaned p starts with ".." or has a ".." element. */
static inline bool
towerfile_path_traverses(const char *p)
{
	size_t n = strlen(p);
	char *c = __builtin_alloca(n + 2);
	const char *e;

	if (towerfile_clean_path(p, c, n + 2) != 0)
		return true;
	if (strncmp(c, "..", 2) == 0)
		return true;
	for (e = c; (e = strstr(e, "..")) != NULL; e += 2)
		if ((e == c || e[-1] == '/') && (e[2] == '\0' || e[2] == '/'))
			return true;
	return false;
}

#endif
