/*
 * The dev= argument of the jobs that run on several disks at once (fill,
 * check, bench): dev=vda or dev=vda,vdb,... Private to src/jobs/.
 */
#ifndef LEVBLK_JOBS_DEVLIST_H
#define LEVBLK_JOBS_DEVLIST_H

#include <levblk/blkdev.h>

/*
 * Puts the disks named in `list` into devs[], in the order given, each at
 * most once, and returns how many (at least one). On a bad list it prints
 * "JOB: bad value in dev=LIST (why)" and returns -ENODEV (no such disk) or
 * -EINVAL (empty name, a disk given twice, more than BLKDEV_MAX).
 */
int jobs_parse_devs(const char *job, const char *list, struct blkdev *devs[BLKDEV_MAX]);

#endif
