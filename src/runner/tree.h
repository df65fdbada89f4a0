/*
 * tree: walks over directory trees a job could have touched (runner.md
 * §5.2): nftw with FTW_PHYS | FTW_MOUNT (| FTW_DEPTH for removal), so
 * symbolic links are never followed or changed, and directories are made
 * u+rwx before their content is removed, so an unreadable directory cannot
 * stop the walk.
 */
#ifndef MT_TREE_H
#define MT_TREE_H

/* Removes path and everything under it. Returns 0, or -1 (errno set) when
 * something could not be removed. A missing path is success. */
int tree_remove(const char *path);

/* Removes every write permission bit of path and everything under it
 * (links untouched). Returns 0 or -1. */
int tree_make_readonly(const char *path);

/* chown -R (links themselves, never their targets). Returns 0 or -1. */
int tree_chown(const char *path, unsigned uid, unsigned gid);

#endif
