/*
 * objects: the object directory at start-up. It is created if missing, and
 * the upload temp files (.upload-<hex>.tmp, written by http.c while an
 * artifact arrives) that a killed server left behind are removed before
 * anything is served, when no request can own them.
 */
#ifndef MT_OBJECTS_H
#define MT_OBJECTS_H

#include <stdint.h>

#include "err.h"

/* Creates dir (0700) unless it exists, checks it is a directory, then
 * removes every regular file named .upload-*.tmp directly in it, logging
 * one line per file ("stale upload removed"); *removed counts them (may be
 * NULL). Other entries are never touched. ERR_IO when dir is unusable; a
 * file that cannot be removed is logged and skipped. */
int objects_init(const char *dir, int64_t *removed, struct err *err);

#endif
