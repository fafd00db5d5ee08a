/*
 * ext2 file writes: bytes at any offset of a file, blocks allocated as the
 * write reaches them, a gap before the offset left as a hole.
 *
 * Locking: the caller holds the volume exclusively (see "Writing" in ext2.h).
 *
 * A block the write covers whole, or one just allocated, is taken with
 * get_mut's fresh (never read); a partial write into an existing block reads
 * it, changes the bytes and marks it dirty (read-modify-write). The size
 * grows only by the bytes really written, so a write stopped part way
 * (-ENOSPC, -EIO, -EFBIG) leaves a file whose size ends at its last byte
 * written.
 */
#include <levblk/errno.h>
#include <levblk/lib/string.h>

#include "ext2.h"

int ext2_file_write(struct ext2_vol *v, struct ext2_inode_info *ip, uint64_t off, const void *buf, size_t len,
		    size_t *done)
{
	const uint32_t bs = v->g.block_bytes;
	const uint64_t limit = ext2_size_limit(v, ip);
	/* Directory and symlink blocks are metadata: their failed write turns the mount read-only. */
	const bool meta = !ext2_is_reg(ip);
	const uint8_t *in = buf;
	size_t written = 0;
	bool clipped = false;
	int err = 0, put_err;

	*done = 0;
	if (v->g.read_only || v->io->get_mut == NULL)
		return -EROFS;
	if (ext2_is_dir(ip) && ((off | len) & (bs - 1u)) != 0)
		return -EINVAL; /* a directory only grows by whole blocks */
	if (len == 0)
		return 0;
	if (off >= limit)
		return -EFBIG;
	if (len > limit - off) {
		len = (size_t)(limit - off);
		clipped = true;
	}
	/* Bytes between the old end and off must read as zeros; those in the old last block may not be. */
	if (off > ip->size && (ip->size & (bs - 1u)) != 0) {
		uint64_t end_of_block = (ip->size | (bs - 1u)) + 1u;
		uint64_t save = ip->size;
		/* Zeroing the tail is a truncate to the same size, without the time update: do it by hand. */
		uint32_t pblk;
		err = ext2_bmap(v, ip, save >> v->g.block_log, &pblk, NULL);
		if (err == 0 && pblk != 0) {
			uint8_t *data;
			void *ref;
			err = ext2_block_get_mut(v, ip->ino, pblk, false, &data, &ref);
			if (err == 0) {
				memset(data + (save & (bs - 1u)), 0, (size_t)(end_of_block - save));
				ext2_block_dirty(v, ref, meta);
				ext2_block_put(v, ref);
			}
		}
		if (err != 0)
			return err;
	}

	while (written < len) {
		uint64_t pos = off + written;
		uint32_t in_block = (uint32_t)(pos & (bs - 1u)), pblk;
		size_t n = bs - in_block < len - written ? bs - in_block : len - written;
		bool fresh;
		uint8_t *data;
		void *ref;

		err = ext2_bmap_alloc(v, ip, pos >> v->g.block_log, &pblk, &fresh);
		if (err != 0)
			break;
		err = ext2_block_get_mut(v, ip->ino, pblk, fresh || n == bs, &data, &ref);
		if (err != 0) {
			if (fresh) {
				/*
				 * Allocated and linked but never written. Past the size this write
				 * reaches, a truncate to that size gives it back (with any indirect
				 * block made for it); inside the file (a hole filled) it stays, as
				 * the file's block, with whatever the disk held there.
				 */
				uint64_t reached = written > 0 && pos > ip->size ? pos : ip->size;
				uint64_t start = pos & ~(uint64_t)(bs - 1u);
				uint32_t mtime = ip->mtime, ctime = ip->ctime;
				if (start >= reached) {
					ip->size = start + bs;
					(void)ext2_truncate(v, ip, reached);
					ip->mtime = mtime;
					ip->ctime = ctime;
				}
			}
			break;
		}
		memcpy(data + in_block, in + written, n);
		ext2_block_dirty(v, ref, meta);
		ext2_block_put(v, ref);
		written += n;
	}
	if (written > 0 && off + written > ip->size)
		ip->size = off + written;
	if (written > 0)
		ip->mtime = ip->ctime = ext2_now(v);
	*done = written;
	/* Stored also after an error: blocks allocated for the bytes written are in ip's pointers. */
	put_err = ext2_inode_put(v, ip);
	if (err == 0 && clipped)
		err = -EFBIG;
	return err != 0 ? err : put_err;
}
