/* dev=vda,vdb,... for the jobs (src/jobs/devlist.h). */
#include <levblk/errno.h>
#include <levblk/console.h>
#include <levblk/lib/string.h>
#include "devlist.h"

int jobs_parse_devs(const char *job, const char *list, struct blkdev *devs[BLKDEV_MAX])
{
	const char *p = list;
	int n = 0;

	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char name[BLKDEV_NAME_MAX];
		struct blkdev *dev;

		if (len == 0 || len >= sizeof(name)) {
			kprintf("%s: bad value in dev=%s (a comma-separated list of disks or partitions)\n", job,
				list);
			return -EINVAL;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		dev = blkdev_find(name);
		if (!dev) {
			kprintf("%s: bad value in dev=%s (no disk %s; %u disks found)\n", job, list,
				name, blkdev_count());
			return -ENODEV;
		}
		for (int i = 0; i < n; i++) {
			if (devs[i] == dev) {
				kprintf("%s: bad value in dev=%s (%s given twice)\n", job, list,
					name);
				return -EINVAL;
			}
		}
		if (n == (int)BLKDEV_MAX) {
			kprintf("%s: bad value in dev=%s (more than %u disks)\n", job, list,
				BLKDEV_MAX);
			return -EINVAL;
		}
		devs[n++] = dev;
		if (!end)
			return n;
		p = end + 1;
	}
}
