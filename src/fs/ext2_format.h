/*
 * The ext2 on-disk format: superblock, group descriptor, inode and directory
 * entry layouts, and the constants that give their fields meaning. Every
 * multi-byte field is little-endian on disk; read them only through the
 * ext2_le16/ext2_le32 accessors so the code stays right on any host.
 *
 * The layouts follow the ext2 format as e2fsprogs and Linux's fs/ext2 define
 * it (revision 0 "good old" and revision 1 "dynamic"). Offsets are pinned
 * below with _Static_assert: a missing or mis-sized field would silently shift
 * everything after it. Only the fields ext2 uses are named; ext3/ext4 fields
 * in the same space are left as reserved bytes.
 */
#ifndef LEVBLK_FS_EXT2_FORMAT_H
#define LEVBLK_FS_EXT2_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* The superblock always starts 1024 bytes into the device and is 1024 bytes long, whatever the block size. */
#define EXT2_SUPER_OFFSET       1024u
#define EXT2_SUPER_BYTES        1024u
#define EXT2_SUPER_MAGIC        0xEF53u

#define EXT2_MIN_BLOCK_LOG      10u /* block size = 1024 << s_log_block_size */
#define EXT2_MIN_BLOCK_BYTES    (1u << EXT2_MIN_BLOCK_LOG)
#define EXT2_MAX_BLOCK_LOG      12u /* what levblk implements: 1, 2 and 4 KiB */
#define EXT2_MAX_BLOCK_BYTES    (1u << EXT2_MAX_BLOCK_LOG)
#define EXT2_FORMAT_MAX_LOG_BLOCK 6u /* the format's own limit, 64 KiB; beyond it the field is garbage */

/* s_rev_level */
#define EXT2_GOOD_OLD_REV       0u  /* fixed inode size and first inode, no feature flags */
#define EXT2_DYNAMIC_REV        1u
#define EXT2_GOOD_OLD_INODE_SIZE 128u
#define EXT2_GOOD_OLD_FIRST_INO  11u

/* s_state */
#define EXT2_VALID_FS           0x0001u /* unmounted cleanly */
#define EXT2_ERROR_FS           0x0002u /* errors detected */

/* s_feature_compat: a kernel that does not know one may still read and write. */
#define EXT2_FEATURE_COMPAT_DIR_PREALLOC  0x0001u
#define EXT2_FEATURE_COMPAT_IMAGIC_INODES 0x0002u
#define EXT3_FEATURE_COMPAT_HAS_JOURNAL   0x0004u
#define EXT2_FEATURE_COMPAT_EXT_ATTR      0x0008u
#define EXT2_FEATURE_COMPAT_RESIZE_INODE  0x0010u
#define EXT2_FEATURE_COMPAT_DIR_INDEX     0x0020u

/* s_feature_incompat: a kernel that does not know one must not mount at all. */
#define EXT2_FEATURE_INCOMPAT_COMPRESSION 0x0001u
#define EXT2_FEATURE_INCOMPAT_FILETYPE    0x0002u
#define EXT3_FEATURE_INCOMPAT_RECOVER     0x0004u
#define EXT3_FEATURE_INCOMPAT_JOURNAL_DEV 0x0008u
#define EXT2_FEATURE_INCOMPAT_META_BG     0x0010u

/* s_feature_ro_compat: a kernel that does not know one may mount read-only only. */
#define EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER 0x0001u
#define EXT2_FEATURE_RO_COMPAT_LARGE_FILE   0x0002u
#define EXT2_FEATURE_RO_COMPAT_BTREE_DIR    0x0004u

/*
 * What levblk implements. mke2fs -t ext2 on Debian 12 (e2fsprogs 1.47) sets
 * ext_attr resize_inode dir_index (compat), filetype (incompat) and
 * sparse_super large_file (ro_compat). Extended attribute blocks are kept as
 * they are (never read), the resize inode is an ordinary reserved inode, and
 * dir_index directories are read as linear ones: the index blocks are built
 * to look like a block holding one empty entry, so a linear reader skips them.
 */
#define EXT2_INCOMPAT_SUPPORTED  EXT2_FEATURE_INCOMPAT_FILETYPE
#define EXT2_RO_COMPAT_SUPPORTED (EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER | EXT2_FEATURE_RO_COMPAT_LARGE_FILE)

/* Reserved inode numbers. */
#define EXT2_BAD_INO            1u
#define EXT2_ROOT_INO           2u

struct ext2_super {
	uint32_t s_inodes_count;
	uint32_t s_blocks_count;
	uint32_t s_r_blocks_count;      /* reserved for the super-user */
	uint32_t s_free_blocks_count;
	uint32_t s_free_inodes_count;
	uint32_t s_first_data_block;    /* block holding the superblock: 1 with 1 KiB blocks, else 0 */
	uint32_t s_log_block_size;
	uint32_t s_log_frag_size;
	uint32_t s_blocks_per_group;
	uint32_t s_frags_per_group;
	uint32_t s_inodes_per_group;
	uint32_t s_mtime;
	uint32_t s_wtime;
	uint16_t s_mnt_count;
	uint16_t s_max_mnt_count;
	uint16_t s_magic;
	uint16_t s_state;
	uint16_t s_errors;
	uint16_t s_minor_rev_level;
	uint32_t s_lastcheck;
	uint32_t s_checkinterval;
	uint32_t s_creator_os;
	uint32_t s_rev_level;
	uint16_t s_def_resuid;
	uint16_t s_def_resgid;
	/* From here on, revision 1 only. */
	uint32_t s_first_ino;
	uint16_t s_inode_size;
	uint16_t s_block_group_nr;
	uint32_t s_feature_compat;
	uint32_t s_feature_incompat;
	uint32_t s_feature_ro_compat;
	uint8_t s_uuid[16];
	char s_volume_name[16];
	char s_last_mounted[64];
	uint32_t s_algorithm_usage_bitmap;
	uint8_t s_prealloc_blocks;
	uint8_t s_prealloc_dir_blocks;
	uint16_t s_reserved_gdt_blocks; /* resize_inode: blocks kept after the descriptors */
	uint8_t s_reserved[1024 - 208];
};
_Static_assert(sizeof(struct ext2_super) == EXT2_SUPER_BYTES, "ext2 superblock is 1024 bytes");
_Static_assert(offsetof(struct ext2_super, s_first_data_block) == 20, "s_first_data_block");
_Static_assert(offsetof(struct ext2_super, s_blocks_per_group) == 32, "s_blocks_per_group");
_Static_assert(offsetof(struct ext2_super, s_inodes_per_group) == 40, "s_inodes_per_group");
_Static_assert(offsetof(struct ext2_super, s_magic) == 56, "s_magic");
_Static_assert(offsetof(struct ext2_super, s_state) == 58, "s_state");
_Static_assert(offsetof(struct ext2_super, s_rev_level) == 76, "s_rev_level");
_Static_assert(offsetof(struct ext2_super, s_first_ino) == 84, "s_first_ino");
_Static_assert(offsetof(struct ext2_super, s_inode_size) == 88, "s_inode_size");
_Static_assert(offsetof(struct ext2_super, s_feature_compat) == 92, "s_feature_compat");
_Static_assert(offsetof(struct ext2_super, s_feature_incompat) == 96, "s_feature_incompat");
_Static_assert(offsetof(struct ext2_super, s_feature_ro_compat) == 100, "s_feature_ro_compat");
_Static_assert(offsetof(struct ext2_super, s_uuid) == 104, "s_uuid");
_Static_assert(offsetof(struct ext2_super, s_volume_name) == 120, "s_volume_name");
_Static_assert(offsetof(struct ext2_super, s_algorithm_usage_bitmap) == 200, "s_algorithm_usage_bitmap");
_Static_assert(offsetof(struct ext2_super, s_reserved_gdt_blocks) == 206, "s_reserved_gdt_blocks");

/* One per block group, packed in the blocks right after the superblock's block. */
struct ext2_group_desc {
	uint32_t bg_block_bitmap;
	uint32_t bg_inode_bitmap;
	uint32_t bg_inode_table;        /* first of the group's inode table blocks */
	uint16_t bg_free_blocks_count;
	uint16_t bg_free_inodes_count;
	uint16_t bg_used_dirs_count;
	uint16_t bg_pad;
	uint32_t bg_reserved[3];
};
_Static_assert(sizeof(struct ext2_group_desc) == 32, "ext2 group descriptor is 32 bytes");
_Static_assert(offsetof(struct ext2_group_desc, bg_inode_table) == 8, "bg_inode_table");
_Static_assert(offsetof(struct ext2_group_desc, bg_free_blocks_count) == 12, "bg_free_blocks_count");
_Static_assert(offsetof(struct ext2_group_desc, bg_used_dirs_count) == 16, "bg_used_dirs_count");

/* i_block[]: 12 direct pointers, then one single, one double and one triple indirect pointer. */
#define EXT2_NDIR_BLOCKS        12u
#define EXT2_IND_BLOCK          12u
#define EXT2_DIND_BLOCK         13u
#define EXT2_TIND_BLOCK         14u
#define EXT2_N_BLOCKS           15u
/* A fast symlink keeps its target in i_block[] itself, when it is shorter than this. */
#define EXT2_FAST_SYMLINK_MAX   (EXT2_N_BLOCKS * 4u)

/* i_blocks counts 512-byte units, whatever the block size. */
#define EXT2_IBLOCK_UNIT        512u

/* The first 128 bytes of an inode; revision 1 inodes may be larger (s_inode_size), the rest is not used here. */
struct ext2_inode {
	uint16_t i_mode;
	uint16_t i_uid;
	uint32_t i_size;                /* low 32 bits of the size */
	uint32_t i_atime;
	uint32_t i_ctime;
	uint32_t i_mtime;
	uint32_t i_dtime;               /* deletion time, 0 while in use */
	uint16_t i_gid;
	uint16_t i_links_count;
	uint32_t i_blocks;              /* in EXT2_IBLOCK_UNIT units, indirect and xattr blocks included */
	uint32_t i_flags;
	uint32_t i_osd1;
	uint32_t i_block[EXT2_N_BLOCKS];
	uint32_t i_generation;
	uint32_t i_file_acl;            /* extended attribute block, 0 if none */
	uint32_t i_size_high;           /* regular files with large_file: high 32 bits of the size */
	uint32_t i_faddr;
	uint8_t i_osd2[12];
};
_Static_assert(sizeof(struct ext2_inode) == EXT2_GOOD_OLD_INODE_SIZE, "ext2 inode core is 128 bytes");
_Static_assert(offsetof(struct ext2_inode, i_links_count) == 26, "i_links_count");
_Static_assert(offsetof(struct ext2_inode, i_blocks) == 28, "i_blocks");
_Static_assert(offsetof(struct ext2_inode, i_block) == 40, "i_block");
_Static_assert(offsetof(struct ext2_inode, i_file_acl) == 104, "i_file_acl");
_Static_assert(offsetof(struct ext2_inode, i_size_high) == 108, "i_size_high");

/*
 * Past the 128-byte core of a larger (revision 1) inode: i_extra_isize says
 * how many bytes of the ext4 extra fields are in use. mke2fs gives new
 * inodes 32 (the fields up to i_projid), with a creation time at byte 144.
 */
#define EXT2_INODE_EXTRA_ISIZE_OFF 128u
#define EXT2_INODE_CRTIME_OFF      144u
#define EXT2_INODE_EXTRA_ISIZE     32u

/* An extended attribute block: magic at byte 0, reference count at byte 4 (both le32). */
#define EXT2_XATTR_MAGIC           0xEA020000u
#define EXT2_XATTR_REFCOUNT_OFF    4u

/* i_mode: the file type in the top four bits, as in POSIX. */
#define EXT2_S_IFMT             0xF000u
#define EXT2_S_IFSOCK           0xC000u
#define EXT2_S_IFLNK            0xA000u
#define EXT2_S_IFREG            0x8000u
#define EXT2_S_IFBLK            0x6000u
#define EXT2_S_IFDIR            0x4000u
#define EXT2_S_IFCHR            0x2000u
#define EXT2_S_IFIFO            0x1000u

/* i_flags that change how the inode's blocks must be read. */
#define EXT2_INDEX_FL           0x00001000u /* dir_index directory: readable as linear */
#define EXT4_EXTENTS_FL         0x00080000u /* extent tree in i_block: not ext2 */
#define EXT4_INLINE_DATA_FL     0x10000000u /* data in the inode: not ext2 */

/*
 * A directory entry: 8 bytes of header, then name_len bytes of name (no NUL),
 * padded to a multiple of 4. rec_len spans to the next entry; the last entry
 * of a block spans to the block's end. inode 0 marks an unused entry. Without
 * the filetype feature, name_len is a 16-bit field (the type byte is its high
 * half and must be 0).
 */
struct ext2_dirent {
	uint32_t inode;
	uint16_t rec_len;
	uint8_t name_len;
	uint8_t file_type;
	char name[];
};
_Static_assert(sizeof(struct ext2_dirent) == 8, "ext2 directory entry header is 8 bytes");
_Static_assert(offsetof(struct ext2_dirent, name) == 8, "ext2 directory entry name");
#define EXT2_DIRENT_HEADER      8u
#define EXT2_DIRENT_ALIGN       4u
#define EXT2_NAME_LEN           255u
/* The smallest record holding a name of `len` bytes. */
#define EXT2_DIRENT_REC_LEN(len) ((EXT2_DIRENT_HEADER + (len) + EXT2_DIRENT_ALIGN - 1u) & ~(EXT2_DIRENT_ALIGN - 1u))

/* file_type values (filetype feature). */
#define EXT2_FT_UNKNOWN         0u
#define EXT2_FT_REG_FILE        1u
#define EXT2_FT_DIR             2u
#define EXT2_FT_CHRDEV          3u
#define EXT2_FT_BLKDEV          4u
#define EXT2_FT_FIFO            5u
#define EXT2_FT_SOCK            6u
#define EXT2_FT_SYMLINK         7u
#define EXT2_FT_MAX             8u

/* Little-endian accessors. levblk's targets are little-endian; the swap is there for any other host. */
static inline uint16_t ext2_le16(uint16_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap16(v);
#else
	return v;
#endif
}

static inline uint32_t ext2_le32(uint32_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap32(v);
#else
	return v;
#endif
}

#endif
