#!/usr/bin/env python3
"""Tree manifests for verifying restores, and page-cache eviction for cold restores.

    treesum.py manifest DIR OUT      write a manifest of DIR (one line per entry) to OUT
    treesum.py check [--sizes] DIR MANIFEST
                                     exit 0 if DIR matches, 1 if content differs,
                                     2 if only metadata (mode, mtime) differs; with --sizes,
                                     compares names, types and sizes only (no hashing)
    treesum.py evict PATH...         drop the page cache of every file under PATH
                                     (posix_fadvise DONTNEED; the fallback when
                                     /proc/sys/vm/drop_caches is not writable)
    treesum.py size DIR              total bytes of regular files under DIR

Content lines: type, relative path, size and SHA-256 (files) or target (symlinks).
Metadata lines: permission bits and mtime in whole seconds (directories' mtimes are left out:
tools restore them in different orders and that says nothing about the data).
"""
import hashlib
import os
import stat
import sys


def walk(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            yield os.path.join(dirpath, name)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return h.hexdigest()
            h.update(b)


def manifest(root, hashes=True):
    content, meta = [], []
    for p in walk(root):
        rel = os.path.relpath(p, root)
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode):
            content.append(f"l {rel} -> {os.readlink(p)}")
        elif stat.S_ISDIR(st.st_mode):
            content.append(f"d {rel}")
            meta.append(f"d {rel} {stat.S_IMODE(st.st_mode):o}")
        elif stat.S_ISREG(st.st_mode):
            content.append(f"f {rel} {st.st_size} {sha256(p) if hashes else '-'}")
            meta.append(f"f {rel} {stat.S_IMODE(st.st_mode):o} {int(st.st_mtime)}")
        else:
            content.append(f"? {rel}")
    return content, meta


def write_manifest(root, out):
    content, meta = manifest(root)
    with open(out, "w") as f:
        f.write("\n".join(content) + "\n--- metadata\n" + "\n".join(meta) + "\n")


def check(root, manifest_path, hashes=True):
    with open(manifest_path) as f:
        want_content, want_meta = f.read().split("--- metadata\n")
    if not hashes:
        want_content = "".join(
            (" ".join(line.split(" ")[:-1] + ["-"]) if line.startswith("f ") else line) + "\n"
            for line in want_content.splitlines())
    content, meta = manifest(root, hashes)
    have_content = "\n".join(content) + "\n"
    have_meta = "\n".join(meta) + "\n"
    if have_content != want_content:
        a, b = set(want_content.splitlines()), set(have_content.splitlines())
        for line in sorted(a - b)[:5]:
            print(f"missing or different: {line}", file=sys.stderr)
        for line in sorted(b - a)[:5]:
            print(f"unexpected: {line}", file=sys.stderr)
        return 1
    if have_meta != want_meta:
        a, b = set(want_meta.splitlines()), set(have_meta.splitlines())
        for line in sorted(a - b)[:3]:
            print(f"metadata differs: want {line}", file=sys.stderr)
        return 2
    return 0


def evict(paths):
    for top in paths:
        items = [top] if os.path.isfile(top) else walk(top)
        for p in items:
            try:
                if not os.path.isfile(p) or os.path.islink(p):
                    continue
                fd = os.open(p, os.O_RDONLY)
                try:
                    os.fdatasync(fd)
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)
            except OSError:
                pass


def size(root):
    total = 0
    for p in walk(root):
        st = os.lstat(p)
        if stat.S_ISREG(st.st_mode):
            total += st.st_size
    return total


def main(argv):
    if len(argv) >= 3 and argv[1] == "manifest" and len(argv) == 4:
        write_manifest(argv[2], argv[3])
        return 0
    if len(argv) == 4 and argv[1] == "check":
        return check(argv[2], argv[3])
    if len(argv) == 5 and argv[1] == "check" and argv[2] == "--sizes":
        return check(argv[3], argv[4], hashes=False)
    if len(argv) >= 3 and argv[1] == "evict":
        evict(argv[2:])
        return 0
    if len(argv) == 3 and argv[1] == "size":
        print(size(argv[2]))
        return 0
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
