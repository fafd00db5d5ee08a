#!/usr/bin/env python3
"""Partition-table images for the host tests, made by the fdisk package.

    make_part_images.py OUTDIR
    make_part_images.py --seeds DIR     small tables for the fuzzer's seed corpus

For each layout, OUTDIR/<name>.img and OUTDIR/<name>.expect. Good tables are
written by sfdisk (512-byte blocks) or fdisk -b 4096 (sfdisk cannot set the
block size of an image file), and their .expect lists the partitions as
`fdisk -l` reads them back: the parser is compared with util-linux, not with
numbers written here. Damaged tables start from a good one and are edited
here; a GPT edit recomputes the CRCs it must, so that only the intended
damage remains.

.expect lines:  lbs N | kind none|mbr|gpt|damaged | note 0|1 | why TEXT |
                part NUM START NSECTORS   (512-byte sectors)
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib

SIZE = 16 << 20  # bytes per image


def run(cmd, stdin):
    subprocess.run(cmd, input=stdin.encode(), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def blank(path, size=SIZE):
    if os.path.exists(path):
        os.remove(path)
    with open(path, 'wb') as f:
        f.truncate(size)


def sfdisk(path, script):
    blank(path)
    run(['sfdisk', '-q', '--no-reread', '--no-tell-kernel', path], script)


def fdisk4k(path, commands):
    blank(path)
    run(['fdisk', '-b', '4096', path], commands)


def fdisk_list(path, lbs):
    """Partitions as fdisk reads them: [(num, start, nsectors)] in 512-byte sectors."""
    out = subprocess.run(['fdisk', '-b', str(lbs), '-l', '-o', 'Device,Start,Sectors,Type', path],
                         check=True, capture_output=True, text=True).stdout
    parts, label = [], None
    for line in out.splitlines():
        m = re.match(r'Disklabel type: (\w+)', line)
        if m:
            label = m.group(1)
        m = re.match(re.escape(path) + r'(\d+)\s+(\d+)\s+(\d+)\s+(.*)$', line)
        if m and not re.search(r'Extended|W95 Ext|Linux extended', m.group(4)):
            k = lbs // 512
            parts.append((int(m.group(1)), int(m.group(2)) * k, int(m.group(3)) * k))
    return label, parts


def expect(out, name, lbs, kind, parts=(), note=0, why=None):
    with open(os.path.join(out, name + '.expect'), 'w') as f:
        f.write(f'lbs {lbs}\nkind {kind}\nnote {note}\n')
        if why:
            f.write(f'why {why}\n')
        for p in parts:
            f.write('part %d %d %d\n' % p)


def good(out, name, lbs):
    path = os.path.join(out, name + '.img')
    label, parts = fdisk_list(path, lbs)
    kind = {'dos': 'mbr', 'gpt': 'gpt'}[label]
    expect(out, name, lbs, kind, parts)
    return parts


# --- editing ----------------------------------------------------------------

def rw(path, off, data=None, n=0):
    with open(path, 'r+b') as f:
        f.seek(off)
        if data is None:
            return f.read(n)
        f.write(data)


def flip(path, off):
    b = rw(path, off, n=1)
    rw(path, off, bytes([b[0] ^ 0xFF]))


def gpt_headers(path, lbs):
    """Byte offsets of the primary and backup headers."""
    size = os.path.getsize(path)
    return [lbs, size - lbs]


def gpt_entry_set(path, lbs, index, first=None, last=None):
    """Sets entry `index` (from 0) in both copies and fixes both copies' CRCs."""
    for hoff in gpt_headers(path, lbs):
        h = rw(path, hoff, n=92)
        ent_lba, count, esize = struct.unpack_from('<QII', h, 72)
        eoff = ent_lba * lbs + index * esize
        if first is not None:
            rw(path, eoff + 32, struct.pack('<Q', first))
        if last is not None:
            rw(path, eoff + 40, struct.pack('<Q', last))
        arr = rw(path, ent_lba * lbs, n=count * esize)
        rw(path, hoff + 88, struct.pack('<I', zlib.crc32(arr) & 0xFFFFFFFF))
        hsize = struct.unpack_from('<I', h, 12)[0]
        rw(path, hoff + 16, b'\0\0\0\0')
        hdr = rw(path, hoff, n=hsize)
        rw(path, hoff + 16, struct.pack('<I', zlib.crc32(hdr) & 0xFFFFFFFF))


def gpt_last_usable(path, lbs):
    return struct.unpack_from('<Q', rw(path, lbs, n=92), 48)[0]


def mbr_entry_set(path, slot, first=None, length=None, base=0):
    off = base + 446 + 16 * slot
    if first is not None:
        rw(path, off + 8, struct.pack('<I', first))
    if length is not None:
        rw(path, off + 12, struct.pack('<I', length))


def seeds(out):
    """fuzz_part inputs: a geometry byte (bit 0: 4096-byte blocks), then a small disk."""
    os.makedirs(out, exist_ok=True)
    tmp = os.path.join(out, 'seed.tmp')
    made = []
    blank(tmp, 64 << 10)
    run(['sfdisk', '-q', tmp], 'label: gpt\ntable-length: 4\nfirst-lba: 3\n'
        'start=3,size=10\nstart=20,size=30\n')
    made.append(('gpt512', 0, tmp))
    blank(tmp + '2', 64 << 10)
    run(['sfdisk', '-q', tmp + '2'], 'label: dos\nstart=1,size=9,type=83\nstart=10,size=100,type=5\n'
        f'{tmp}25: size=10,type=83\n{tmp}26: size=20,type=83\n')
    made.append(('mbr512', 0, tmp + '2'))
    blank(tmp + '3', 48 * 4096)
    run(['fdisk', '-b', '4096', tmp + '3'], 'g\nn\n1\n8\n+3\nn\n2\n20\n+9\nw\n')
    made.append(('gpt4096', 1, tmp + '3'))
    for name, geo, path in made:
        with open(path, 'rb') as f:
            data = f.read()
        with open(os.path.join(out, name), 'wb') as f:
            f.write(bytes([geo]) + data)
        os.remove(path)


def main():
    if sys.argv[1] == '--seeds':
        return seeds(sys.argv[2])
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    img = lambda n: os.path.join(out, n + '.img')

    # Good MBR layouts.
    sfdisk(img('mbr_one'), 'label: dos\nstart=2048,size=8192,type=83\n')
    good(out, 'mbr_one', 512)
    sfdisk(img('mbr_four'), 'label: dos\n' + ''.join(
        f'start={2048 + 4096 * i},size=4096,type=83\n' for i in range(4)))
    good(out, 'mbr_four', 512)
    logical = ('label: dos\nstart=2048,size=2048,type=83\nstart=4096,size=20480,type=5\n'
               'X5: size=2048,type=83\nX6: size=4000,type=83\nX7: size=100,type=83\n')
    sfdisk(img('mbr_logical'), logical.replace('X', img('mbr_logical')))
    good(out, 'mbr_logical', 512)
    sfdisk(img('mbr_unaligned'), 'label: dos\nstart=63,size=1001,type=83\n'
           'start=1064,size=77,type=c\nstart=5000,size=333,type=83\n')
    good(out, 'mbr_unaligned', 512)
    fdisk4k(img('mbr_4k'), 'o\nn\np\n1\n256\n+99\nn\ne\n2\n512\n+1000\nn\nl\n\n+50\nn\nl\n\n+9\nw\n')
    good(out, 'mbr_4k', 4096)

    # Good GPT layouts.
    sfdisk(img('gpt_three'), 'label: gpt\nsize=2048\nsize=4096\nsize=100\n')
    good(out, 'gpt_three', 512)
    sfdisk(img('gpt_full'), 'label: gpt\n' + ''.join(
        f'start={2048 + 64 * i},size=64\n' for i in range(128)))
    good(out, 'gpt_full', 512)
    sfdisk(img('gpt_eight_entries'), 'label: gpt\ntable-length: 8\nsize=2048\n'
           f'{img("gpt_eight_entries")}7: size=100\n')
    good(out, 'gpt_eight_entries', 512)
    sfdisk(img('gpt_unaligned'), 'label: gpt\nfirst-lba: 34\nstart=34,size=101\n'
           'start=135,size=7\nstart=9999,size=1\n')
    good(out, 'gpt_unaligned', 512)
    fdisk4k(img('gpt_4k'), 'g\nn\n1\n\n+100\nn\n2\n\n+200\nn\n3\n1000\n+7\nw\n')
    good(out, 'gpt_4k', 4096)

    # A damaged primary that the backup saves: header, then entries.
    for name, src, lbs, off in (('gpt_bad_primary_header', 'gpt_three', 512, 512 + 60),
                                ('gpt_bad_primary_entries', 'gpt_three', 512, 1024 + 40),
                                ('gpt_4k_bad_primary_header', 'gpt_4k', 4096, 4096 + 60)):
        shutil.copy(img(src), img(name))
        flip(img(name), off)
        _, parts = fdisk_list(img(src), lbs)
        expect(out, name, lbs, 'gpt', parts, note=1)

    # Damaged tables: the disk stays whole.
    shutil.copy(img('gpt_three'), img('gpt_both_bad'))
    for hoff in gpt_headers(img('gpt_both_bad'), 512):
        flip(img('gpt_both_bad'), hoff + 60)
    expect(out, 'gpt_both_bad', 512, 'damaged', why='bad GPT header CRC')

    shutil.copy(img('gpt_three'), img('gpt_past_end'))
    gpt_entry_set(img('gpt_past_end'), 512, 2, last=gpt_last_usable(img('gpt_past_end'), 512) + 5)
    expect(out, 'gpt_past_end', 512, 'damaged', why='outside the usable blocks')

    shutil.copy(img('gpt_three'), img('gpt_overlap'))
    _, parts = fdisk_list(img('gpt_three'), 512)
    gpt_entry_set(img('gpt_overlap'), 512, 1, first=parts[0][1] + parts[0][2] - 1)
    expect(out, 'gpt_overlap', 512, 'damaged', why='overlapping')

    shutil.copy(img('mbr_one'), img('mbr_past_end'))
    mbr_entry_set(img('mbr_past_end'), 0, length=SIZE // 512)
    expect(out, 'mbr_past_end', 512, 'damaged', why='outside the disk')

    shutil.copy(img('mbr_four'), img('mbr_overlap'))
    mbr_entry_set(img('mbr_overlap'), 2, first=2048 + 4096 + 100)
    expect(out, 'mbr_overlap', 512, 'damaged', why='overlapping')

    # The second EBR's link pointing back at itself: a loop.
    shutil.copy(img('mbr_logical'), img('mbr_ebr_loop'))
    ebr1 = 4096 * 512
    rel = struct.unpack_from('<I', rw(img('mbr_ebr_loop'), ebr1 + 446 + 16 + 8, n=4))[0]
    mbr_entry_set(img('mbr_ebr_loop'), 1, first=rel, base=(4096 + rel) * 512)
    expect(out, 'mbr_ebr_loop', 512, 'damaged', why='')

    # No table at all.
    blank(img('none'))
    expect(out, 'none', 512, 'none')


if __name__ == '__main__':
    main()
