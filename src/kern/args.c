/* Typed access to a job's command-line arguments (include/levblk/kern/cmdline.h). */
#include <levblk/errno.h>
#include <levblk/console.h>
#include <levblk/kern/cmdline.h>

int arg_u64(const char *key, uint64_t def, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *v = cmdline_get(kernel_cmdline(), key);

	if (!v) {
		*out = def;
		return 0;
	}
	if (parse_u64(v, min, max, out) < 0) {
		kprintf("cmdline: bad value in %s=%s (want %lu..%lu)\n", key, v,
			(unsigned long)min, (unsigned long)max);
		return -EINVAL;
	}
	return 0;
}

const char *arg_str(const char *key, const char *def)
{
	const char *v = cmdline_get(kernel_cmdline(), key);

	return v ? v : def;
}
