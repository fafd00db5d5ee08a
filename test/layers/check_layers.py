#!/usr/bin/env python3
"""The layer order of cmake/layers.cmake, checked on the sources and on the
kernel's object files (ctest layers.order).

A layer may use only itself and the layers below it (lowest first: the order
given with --layers). Three rules:

  includes   a file under src/<layer>/ includes public headers of its own or
             lower layers only, and private headers ("x.h") only from its own
             folder; a public header includes only headers of its own or
             lower layers.
  symbols    every symbol a layer's objects use and the image defines is
             defined in that layer or a lower one (a call upward is a cycle
             between layers, whatever the headers say).

Which layer a public header belongs to: include/levblk/<layer>/x.h belongs to
<layer>; a header directly in include/levblk/ (the headers for code written
on top of levblk) is listed with --public-headers (cmake/layers.cmake,
LEVBLK_PUBLIC_HEADERS).

Prints one line per violation and exits 1 if there is any.
"""
import argparse
import os
import re
import subprocess
import sys

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.MULTILINE)
SOURCE_SUFFIXES = ('.c', '.h', '.S')

# The one call upward: the reset path (src/hal/start.S) enters the kernel's
# main once it has a stack, the MMU and BSS. Nothing returns from it.
ALLOWED_UPWARD = {('hal', 'kmain')}


class Layers:
    def __init__(self, order, public_headers):
        self.order = order
        self.rank = {name: i for i, name in enumerate(order)}
        self.top = dict(public_headers)

    def owner(self, header):
        """The layer of a levblk/... public header, or None if unknown."""
        parts = header.split('/')
        if len(parts) == 3 and parts[1] in self.rank:
            return parts[1]
        if len(parts) == 2:
            return self.top.get(parts[1])
        return None

    def above(self, a, b):
        return self.rank[a] > self.rank[b]


def check_includes(src_dir, inc_dir, layers):
    errors = []

    def check_public(path, layer, header):
        owner = layers.owner(header)
        if owner is None:
            errors.append(f'{path}: <{header}> belongs to no layer: say which in '
                          'LEVBLK_PUBLIC_HEADERS (cmake/layers.cmake)')
        elif layers.above(owner, layer):
            errors.append(f'{path} ({layer}): includes <{header}> of the higher layer {owner}')

    for layer in layers.order:
        root = os.path.join(src_dir, layer)
        for dirpath, _, files in os.walk(root):
            for name in sorted(files):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, os.path.dirname(src_dir))
                with open(path, encoding='utf-8') as f:
                    text = f.read()
                for kind, header in INCLUDE_RE.findall(text):
                    if header.startswith('levblk/'):
                        check_public(rel, layer, header)
                    elif kind == '"':
                        found = os.path.normpath(os.path.join(dirpath, header))
                        if not found.startswith(root + os.sep) or not os.path.exists(found):
                            errors.append(f'{rel} ({layer}): "{header}" is not a private header '
                                          f'of src/{layer}/')

    levblk = os.path.join(inc_dir, 'levblk')
    for dirpath, _, files in os.walk(levblk):
        for name in sorted(files):
            if not name.endswith('.h'):
                continue
            path = os.path.join(dirpath, name)
            header = os.path.relpath(path, inc_dir)
            rel = os.path.relpath(path, os.path.dirname(inc_dir))
            layer = layers.owner(header)
            if layer is None:
                errors.append(f'{rel}: belongs to no layer: say which in '
                              'LEVBLK_PUBLIC_HEADERS (cmake/layers.cmake)')
                continue
            with open(path, encoding='utf-8') as f:
                text = f.read()
            for kind, inc in INCLUDE_RE.findall(text):
                if inc.startswith('levblk/'):
                    check_public(rel, layer, inc)
                elif kind == '"':
                    errors.append(f'{rel}: public headers include with <levblk/...>, not "{inc}"')
    return errors


def symbols(nm, obj):
    out = subprocess.run([nm, obj], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == 'U':
            undefined.add(fields[1])
        elif len(fields) == 3 and fields[1].isupper() and fields[1] != 'U':
            defined.add(fields[2])
    return defined, undefined


def check_symbols(nm, objects, layers):
    errors = []
    owner = {}
    uses = []
    for layer, objs in objects:
        for obj in objs:
            defined, undefined = symbols(nm, obj)
            for s in defined:
                owner[s] = (layer, os.path.basename(obj))
            uses.append((layer, os.path.basename(obj), undefined))
    for layer, obj, undefined in uses:
        for s in sorted(undefined):
            if s not in owner:
                continue  # the linker script's or the toolchain's
            def_layer, def_obj = owner[s]
            if layers.above(def_layer, layer) and (layer, s) not in ALLOWED_UPWARD:
                errors.append(f'{layer}/{obj} uses {s} of the higher layer {def_layer} '
                              f'({def_obj})')
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--source-dir', required=True, help='the tree: src/ and include/ under it')
    ap.add_argument('--layers', required=True, help='layer names, lowest first, ;-separated')
    ap.add_argument('--public-headers', default='',
                    help='header:layer pairs for include/levblk/*.h, ;-separated')
    ap.add_argument('--nm', help='llvm-nm, for the symbol rule')
    ap.add_argument('--objects', action='append', default=[],
                    help='layer=obj,obj,... (repeatable): the layer\'s object files')
    args = ap.parse_args()

    order = [x for x in args.layers.split(';') if x]
    pairs = [p.split(':', 1) for p in args.public_headers.split(';') if p]
    layers = Layers(order, pairs)
    top = os.path.abspath(args.source_dir)
    errors = check_includes(os.path.join(top, 'src'), os.path.join(top, 'include'), layers)
    objects = []
    for spec in args.objects:
        layer, _, objs = spec.partition('=')
        objects.append((layer, [o for o in objs.split(',') if o]))
    if objects:
        if not args.nm:
            ap.error('--objects needs --nm')
        errors += check_symbols(args.nm, objects, layers)
    for e in errors:
        print(e)
    print(f'layers: {len(errors)} violation(s) of the order {" < ".join(order)}')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
