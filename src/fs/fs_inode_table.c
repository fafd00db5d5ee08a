/*
 * The in-core inode table of a mount (fs_private.h): one entry per inode
 * that open files use, found by inode number, so that every open file of an
 * inode shares one in-memory copy of it.
 */
#include <levblk/errno.h>
#include <levblk/kmalloc.h>

#include "fs_private.h"

static uint32_t itable_slot(uint32_t ino);
static void itable_unhash(struct fs_itable *t, struct fs_inode *n);
static int release_unlinked(struct fs *fs, struct ext2_inode_info *ip);

static uint32_t itable_slot(uint32_t ino)
{
	return ino & (FS_ITABLE_BUCKETS - 1u);
}

void fs_itable_init(struct fs_itable *t)
{
	mutex_init(&t->lock, "fs-itable");
	for (uint32_t i = 0; i < FS_ITABLE_BUCKETS; i++)
		t->hash[i] = NULL;
	t->count = 0;
}

int fs_itable_get(struct fs *fs, const struct ext2_inode_info *ip, struct fs_inode **out)
{
	struct fs_itable *t = &fs->itable;
	struct fs_inode *n, *fresh = NULL;

	/* Allocated before the lock, used only if the inode is not there yet. */
	for (int pass = 0; pass < 2; pass++) {
		mutex_lock(&t->lock);
		for (n = t->hash[itable_slot(ip->ino)]; n != NULL; n = n->next)
			if (n->ip.ino == ip->ino)
				break;
		if (n != NULL) {
			n->refs++;
		} else if (fresh != NULL) {
			n = fresh;
			fresh = NULL;
			n->refs = 1;
			n->unlinked = false;
			n->gen = 0;
			n->ip = *ip;
			n->next = t->hash[itable_slot(ip->ino)];
			t->hash[itable_slot(ip->ino)] = n;
			t->count++;
		}
		mutex_unlock(&t->lock);
		if (n != NULL) {
			kfree(fresh);
			*out = n;
			return 0;
		}
		fresh = kmalloc(sizeof(*fresh));
		if (fresh == NULL)
			return -ENOMEM;
	}
	/* Not reached: the second pass always finds or inserts. */
	kfree(fresh);
	return -ENOMEM;
}

static void itable_unhash(struct fs_itable *t, struct fs_inode *n)
{
	struct fs_inode **pp = &t->hash[itable_slot(n->ip.ino)];

	while (*pp != n)
		pp = &(*pp)->next;
	*pp = n->next;
	t->count--;
}

/* fs->lock held for writing: frees an unlinked inode's blocks and number (nothing if the mount cannot write). */
static int release_unlinked(struct fs *fs, struct ext2_inode_info *ip)
{
	if (fs_writable(fs) != 0)
		return -EROFS; /* left for e2fsck: an inode without links, not yet freed */
	return ext2_inode_release(&fs->vol, ip);
}

void fs_itable_put(struct fs *fs, struct fs_inode *n)
{
	struct fs_itable *t = &fs->itable;
	bool last;

	mutex_lock(&t->lock);
	last = --n->refs == 0;
	if (last)
		itable_unhash(t, n);
	mutex_unlock(&t->lock);
	if (!last)
		return;
	/*
	 * The caller holds fs->lock for writing for an unlinked inode
	 * (fs_private.h). A failure is not the closer's to see: the release
	 * printed FSERR, or the mount is read-only and e2fsck frees the inode.
	 */
	if (n->unlinked && rwlock_write_held(&fs->lock))
		(void)release_unlinked(fs, &n->ip);
	kfree(n);
}

int fs_itable_after_namespace(struct fs *fs, uint32_t orphan)
{
	struct fs_itable *t = &fs->itable;
	struct ext2_inode_info ip;
	bool open = false;
	int err = 0;

	mutex_lock(&t->lock);
	for (uint32_t i = 0; i < FS_ITABLE_BUCKETS; i++) {
		for (struct fs_inode *n = t->hash[i]; n != NULL; n = n->next) {
			if (n->ip.ino == orphan && orphan != 0) {
				n->unlinked = true;
				n->ip.links = 0;
				n->gen++;
				open = true;
				continue;
			}
			if (n->unlinked)
				continue;
			/* A cache hit, normally: the operation just read or wrote it. On an error the old copy stays. */
			if (ext2_inode_get(&fs->vol, n->ip.ino, &ip) == 0)
				n->ip = ip;
			n->gen++;
		}
	}
	mutex_unlock(&t->lock);
	if (orphan != 0 && !open) {
		err = ext2_inode_get_unlinked(&fs->vol, orphan, &ip);
		if (err == 0)
			err = release_unlinked(fs, &ip);
	}
	return err;
}

uint32_t fs_itable_count(struct fs *fs)
{
	mutex_lock(&fs->itable.lock);
	uint32_t n = fs->itable.count;
	mutex_unlock(&fs->itable.lock);
	return n;
}
