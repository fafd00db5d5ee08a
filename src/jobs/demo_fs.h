/* run=demo's file system part (demo_fs.c). Private to src/jobs/. */
#ifndef LEVBLK_JOBS_DEMO_FS_H
#define LEVBLK_JOBS_DEMO_FS_H

/*
 * Mounts the ext2 file system on the disk or partition called `name`
 * read-only, lists its root, prints the start of /hello.txt read through
 * the buffer cache and the cache's counters. Returns 0 or the error that
 * stopped it (already explained in a line).
 */
int demo_fs(const char *name);

#endif
