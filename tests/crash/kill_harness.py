#!/usr/bin/env python3
"""Crash-safety harness: kills `cairn snapshot` and `cairn prune` with SIGKILL at random points.

After every kill it checks what a user relies on after a crash:
  * `cairn scrub --read-data` exits 0 and reports no damage (packs that no index file names,
    left by a killed writer, are notices and are allowed);
  * every snapshot that completed earlier (and was not forgotten) restores byte-identical to
    the source as it was then (a manifest of sha256 + mode + symlink target per path is kept per
    snapshot, not a copy).
Every --prune-every iterations it runs `cairn forget --keep-last K` and a `cairn prune` that is
itself sometimes killed (when this cairn has prune), then checks again. At the end a
`cairn prune --no-other-writers` must leave no orphaned pack.

The sequence of decisions (source changes, snapshot kinds, kill delays) is fixed by --seed; where
a kill lands still depends on the machine's speed, so the summary counts kills by the phase the
repository shows afterwards (no new object, packs, an index file, the snapshot itself).

Usage: kill_harness.py --cairn BUILD/cairn [--iterations N] [--seed S] [--workdir DIR] [--keep]
Exit status 0 when every check passed; otherwise 1, and the workdir is left for forensics.
Standard library only.
"""

import argparse
import concurrent.futures
import hashlib
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

PASSWORD = "crash-harness"


class Failure(Exception):
    pass


# ------------------------------------------------------------------ source tree


class Source:
    """A generated source tree: many small files in folders, two larger files, symlinks,
    a few modes; changed at random between iterations. Also a stream file for --stdin."""

    def __init__(self, root, stream_path, rng, size_mb):
        self.root = root
        self.stream_path = stream_path
        self.rng = rng
        self.size_mb = size_mb
        self.counter = 0
        self.mtime_s = 1_700_000_000

    def _data(self, n):
        # Half random, half repeated text: some of it compresses, some dedups.
        r = self.rng
        if r.random() < 0.5:
            return r.randbytes(n)
        word = r.randbytes(r.randint(8, 64)).hex().encode() + b"\n"
        return (word * (n // len(word) + 1))[:n]

    def _write(self, rel, data, mode=0o644):
        p = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if os.path.lexists(p) and not os.path.isfile(p):
            return
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, mode)
        self._touch(p)

    def _touch(self, p):
        # A fresh, distinct mtime for every change, so no change can hide from the parent check.
        self.mtime_s += 1
        os.utime(p, ns=(self.mtime_s * 10**9, self.mtime_s * 10**9), follow_symlinks=False)

    def create(self):
        os.makedirs(self.root)
        big = self.size_mb * 1024 * 1024
        # Two larger files take about 60% of the bytes; the rest is many small files.
        for name in ("big/a.bin", "big/b.img"):
            self._write(name, self._data(int(big * 0.3)))
        small_total = int(big * 0.4)
        written = 0
        while written < small_total:
            n = self.rng.randint(200, 24 * 1024)
            self._write(self._new_name(), self._data(n), self.rng.choice([0o644, 0o600, 0o755]))
            written += n
        for i in range(4):
            target = self.rng.choice(self.files()) if i % 2 == 0 else "../no/such/target"
            link = os.path.join(self.root, "links", "l%d" % i)
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink(target if i % 2 else os.path.relpath(os.path.join(self.root, target),
                                                            os.path.dirname(link)), link)
        with open(self.stream_path, "wb") as f:
            f.write(self._data(self.size_mb * 1024 * 1024 // 2))

    def _new_name(self):
        self.counter += 1
        depth = self.rng.randint(0, 3)
        parts = ["d%d" % self.rng.randint(0, 6) for _ in range(depth)]
        return os.path.join(*parts, "f%05d.dat" % self.counter)

    def files(self):
        out = []
        for dirpath, _, filenames in os.walk(self.root):
            for n in filenames:
                p = os.path.join(dirpath, n)
                if os.path.isfile(p) and not os.path.islink(p):
                    out.append(os.path.relpath(p, self.root))
        return sorted(out)

    def mutate(self):
        r = self.rng
        files = self.files()
        for _ in range(r.randint(1, 8)):
            what = r.random()
            rel = r.choice(files)
            p = os.path.join(self.root, rel)
            if not os.path.exists(p):
                continue
            if what < 0.35:
                self._write(rel, self._data(r.randint(0, 30 * 1024)))
            elif what < 0.5:
                with open(p, "ab") as f:
                    f.write(self._data(r.randint(1, 8192)))
                self._touch(p)
            elif what < 0.6 and not rel.startswith("big/"):
                os.remove(p)
            elif what < 0.7:
                os.chmod(p, r.choice([0o644, 0o600, 0o755, 0o444]))
                self._touch(p)
            else:
                self._write(self._new_name(), self._data(r.randint(100, 40 * 1024)))
        # The larger files: overwrite a region in place (most chunks dedup, a few change).
        if r.random() < 0.6:
            rel = r.choice(["big/a.bin", "big/b.img"])
            p = os.path.join(self.root, rel)
            size = os.path.getsize(p)
            with open(p, "r+b") as f:
                f.seek(r.randint(0, max(0, size - 1)))
                f.write(self._data(r.randint(1, 256 * 1024)))
            self._touch(p)
        if r.random() < 0.5:
            size = os.path.getsize(self.stream_path)
            with open(self.stream_path, "r+b") as f:
                f.seek(r.randint(0, max(0, size - 1)))
                f.write(self._data(r.randint(1, 512 * 1024)))


def tree_manifest(root):
    """path -> (type, mode, sha256 or symlink target), for every entry below root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", "", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", "%o" % stat.S_IMODE(st.st_mode), "")
            else:
                out[rel] = ("file", "%o" % stat.S_IMODE(st.st_mode), file_sha256(p))
    return out


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest_diff(want, got, limit=8):
    lines = []
    for k in sorted(set(want) | set(got)):
        if want.get(k) != got.get(k):
            lines.append("  %s: want %s, got %s" % (k, want.get(k), got.get(k)))
    return "\n".join(lines[:limit]) + ("\n  ..." if len(lines) > limit else "")


# ------------------------------------------------------------------ the harness


class Harness:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.wd = args.workdir
        self.repo = os.path.join(self.wd, "repo")
        self.cache = os.path.join(self.wd, "cache")
        self.src = os.path.join(self.wd, "src")
        self.stream = os.path.join(self.wd, "stream.bin")
        self.log_path = os.path.join(self.wd, "harness.log")
        self.env = dict(os.environ, CAIRN_PASSWORD=PASSWORD, LC_ALL="C.UTF-8")
        for k in ("CAIRN_REPO", "CAIRN_PASSWORD_FILE", "CAIRN_PASSWORD_COMMAND"):
            self.env.pop(k, None)
        self.source = Source(self.src, self.stream, random.Random(args.seed * 7919 + 1),
                             args.source_mb)
        # snapshot id -> ("tree", manifest) or ("stream", sha256)
        self.completed = {}
        self.stats = {
            "snapshot_runs": 0, "snapshot_completed": 0, "snapshot_kills": {},
            "prune_runs": 0, "prune_kills": 0, "prune_completed": 0,
            "scrubs": 0, "orphan_notices_max": 0, "restores": 0, "cache_wipes": 0,
            "iterations": 0,
        }
        self.duration = {}  # kind -> estimated seconds of an uninterrupted run
        self.startup_s = 0.05
        self.has_prune = False
        self.start = time.monotonic()

    # -- running cairn

    def cmd(self, *words):
        return [self.args.cairn, "--repo", self.repo, "--cache-dir", self.cache] + list(words)

    def log(self, msg):
        with open(self.log_path, "a") as f:
            f.write(msg + "\n")
        if self.args.verbose:
            print(msg, flush=True)

    def run(self, words, want=(0,), stdin=None, what=None):
        t0 = time.monotonic()
        p = subprocess.run(self.cmd(*words), env=self.env, stdin=stdin, capture_output=True)
        self.log("$ cairn %s -> %d (%.2fs)" % (" ".join(words), p.returncode, time.monotonic() - t0))
        if want is not None and p.returncode not in want:
            raise Failure("%s: `cairn %s` exited %d (want %s)\nstdout: %s\nstderr: %s" % (
                what or words[0], " ".join(words), p.returncode, want,
                p.stdout[-2000:].decode(errors="replace"), p.stderr[-2000:].decode(errors="replace")))
        return p

    def run_killable(self, words, delay, stdin_path=None):
        """Starts cairn, SIGKILLs it after `delay` seconds (None: never). Returns
        (killed, returncode, stdout, stderr, seconds)."""
        stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
        t0 = time.monotonic()
        try:
            p = subprocess.Popen(self.cmd(*words), env=self.env, stdin=stdin,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            killed = False
            try:
                out, err = p.communicate(timeout=delay)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
                out, err = p.communicate()
                killed = p.returncode == -signal.SIGKILL
        finally:
            if stdin_path:
                stdin.close()
        secs = time.monotonic() - t0
        self.log("$ cairn %s%s -> %s (%.3fs)" % (
            " ".join(words), " <%s" % os.path.basename(stdin_path) if stdin_path else "",
            "KILLED" if killed else p.returncode, secs))
        return killed, p.returncode, out, err, secs

    # -- repository objects, to tell where a kill landed

    def objects(self):
        seen = {}
        for folder in ("data", "index", "snapshots", "tmp"):
            names = set()
            base = os.path.join(self.repo, folder)
            for dirpath, _, filenames in os.walk(base):
                names.update(filenames)
            seen[folder] = names
        return seen

    # -- the steps

    def setup(self):
        os.makedirs(self.wd, exist_ok=True)
        self.source.create()
        self.run(["init", "--pack-mib", "1", "--avg-chunk-kib", "64"], what="init")
        t0 = time.monotonic()
        self.run(["snapshots"], what="snapshots")
        self.startup_s = time.monotonic() - t0
        p = subprocess.run(self.cmd("prune", "--help"), env=self.env, capture_output=True)
        # Without a prune command CLI11 answers `prune --help` with the general help.
        self.has_prune = p.returncode == 0 and b"--no-other-writers" in p.stdout
        if not self.has_prune:
            print("kill_harness: this cairn has no `prune` command: the prune part is SKIPPED "
                  "(snapshot kills, scrub and restores still run)", flush=True)

    def pick_delay(self, kind):
        """None (no kill) or seconds. Spread over the whole run: startup, chunking, pack
        uploads, index and snapshot writes."""
        r = self.rng.random()
        est = self.duration.get(kind)
        if r < 0.12 or est is None:
            return None
        if r < 0.22:
            return self.rng.uniform(0, self.startup_s)
        lo = self.startup_s * 0.8
        return lo + self.rng.uniform(0, max(0.01, (est - lo) * 1.1))

    def snapshot_once(self, i):
        r = self.rng.random()
        if r < 0.3:
            kind, words, stdin = "stream", ["--json", "snapshot", "--stdin", "--stdin-name",
                                            "db.dump", "--kind", "pg-dump"], self.stream
        elif r < 0.45:
            kind, words, stdin = "force", ["--json", "snapshot", "--force", self.src], None
        else:
            kind, words, stdin = "tree", ["--json", "snapshot", self.src], None
        if self.rng.random() < 0.05:
            # A fresh cache: the open rebuilds the local index from the index files.
            shutil.rmtree(self.cache, ignore_errors=True)
            self.stats["cache_wipes"] += 1
        want = (("stream", file_sha256(self.stream)) if kind == "stream"
                else ("tree", tree_manifest(self.src)))
        before = self.objects()
        delay = self.pick_delay(kind)
        self.stats["snapshot_runs"] += 1
        killed, rc, out, err, secs = self.run_killable(words, delay, stdin)
        after = self.objects()
        new = {k: after[k] - before[k] for k in after}
        if not killed:
            # Any refusal fails, exit 11 included: snapshots never run beside a prune here, and
            # a sweep by `prune --no-other-writers` writes no marker a later snapshot could meet.
            if rc != 0:
                raise Failure("iteration %d: snapshot (%s) exited %d without being killed\n%s"
                              % (i, kind, rc, err.decode(errors="replace")[-2000:]))
            sid = json.loads(out)["snapshot"]
            self.record(sid, want)
            self.stats["snapshot_completed"] += 1
            old = self.duration.get(kind)
            self.duration[kind] = secs if old is None else 0.7 * old + 0.3 * secs
            return "completed"
        if new["snapshots"]:
            phase = "after the snapshot object was written"
            for name in new["snapshots"]:
                self.record(name, want)
        elif new["index"]:
            phase = "after an index file, before the snapshot"
        elif new["data"]:
            phase = "after packs, before an index file"
        else:
            phase = "before any pack was written"
        if new["tmp"]:
            phase += " (a temp file left mid-write)"
        self.stats["snapshot_kills"][phase] = self.stats["snapshot_kills"].get(phase, 0) + 1
        return "killed " + phase

    def record(self, sid, want):
        self.completed[sid] = want
        with open(os.path.join(self.wd, "manifests", sid + ".json"), "w") as f:
            json.dump(want, f)

    def scrub(self, where, orphans_allowed=True):
        p = self.run(["--json", "scrub", "--read-data"], want=None)
        self.stats["scrubs"] += 1
        try:
            report = json.loads(p.stdout)
        except ValueError:
            report = None
        if p.returncode != 0 or report is None or report.get("damaged"):
            raise Failure("%s: scrub --read-data exited %d\nstdout: %s\nstderr: %s" % (
                where, p.returncode, p.stdout[-3000:].decode(errors="replace"),
                p.stderr[-2000:].decode(errors="replace")))
        findings = report.get("findings", [])
        damage = [f for f in findings if f.get("damage")]
        if damage:
            raise Failure("%s: scrub found damage: %s" % (where, damage[:5]))
        orphans = [f for f in findings if "not in any index file" in f.get("problem", "")]
        self.stats["orphan_notices_max"] = max(self.stats["orphan_notices_max"], len(orphans))
        if not orphans_allowed and findings:
            raise Failure("%s: scrub still reports %d findings (want none): %s" % (
                where, len(findings), findings[:5]))

    def sync_with_listing(self):
        """Drops recorded snapshots that forget removed; every listed snapshot must be known."""
        p = self.run(["--json", "snapshots"], what="snapshots")
        listed = {s["id"] for s in json.loads(p.stdout)}
        unknown = listed - set(self.completed)
        if unknown:
            raise Failure("snapshots lists %d snapshots the harness never saw complete: %s"
                          % (len(unknown), sorted(unknown)[:3]))
        missing = set(self.completed) - listed
        return missing

    def restore_one(self, sid, kind, want):
        """Restores one snapshot and compares it; returns a problem or None."""
        if kind == "stream":
            out = os.path.join(self.wd, "restore-%s.bin" % sid)
            with open(out, "wb") as f:
                p = subprocess.run(self.cmd("restore", sid, "--stdout"), env=self.env,
                                   stdout=f, stderr=subprocess.PIPE)
            got = file_sha256(out)
            os.remove(out)
            if p.returncode != 0:
                return "restore %s --stdout exited %d: %s" % (
                    sid, p.returncode, p.stderr.decode(errors="replace")[-2000:])
            if got != want:
                return "stream snapshot %s restores with sha256 %s, want %s" % (sid, got, want)
            return None
        target = os.path.join(self.wd, "restore-" + sid)
        shutil.rmtree(target, ignore_errors=True)
        p = subprocess.run(self.cmd("restore", sid, "--target", target), env=self.env,
                           capture_output=True)
        if p.returncode != 0:
            return "restore %s exited %d: %s" % (sid, p.returncode,
                                                 p.stderr.decode(errors="replace")[-2000:])
        got = tree_manifest(os.path.join(target, os.path.basename(self.src)))
        shutil.rmtree(target)
        if got != want:
            return "snapshot %s restores different from its source:\n%s" % (
                sid, manifest_diff(want, got))
        return None

    def restore_all(self, where, check_listing=True):
        if check_listing:
            missing = self.sync_with_listing()
            if missing:
                raise Failure("%s: completed snapshots are gone: %s"
                              % (where, sorted(missing)[:3]))
        todo = sorted(self.completed.items())
        # Two at a time: restores are mostly waiting on the process start and the disk.
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            problems = list(pool.map(lambda item: self.restore_one(item[0], *item[1]), todo))
        self.log("restored and compared %d snapshots" % len(todo))
        for problem in problems:
            if problem:
                raise Failure("%s: %s" % (where, problem))
        self.stats["restores"] += len(todo)

    def forget_and_prune(self, i):
        self.run(["forget", "--keep-last", str(self.args.keep_last)], what="forget")
        for sid in self.sync_with_listing():
            del self.completed[sid]
        if not self.has_prune:
            return
        words = ["prune"] + (["--no-other-writers"]
                             if self.rng.random() < self.args.no_other_writers_share else [])
        est = self.duration.get("prune")
        delay = None if est is None or self.rng.random() < 0.3 else self.rng.uniform(0, est * 1.1)
        self.stats["prune_runs"] += 1
        killed, rc, out, err, secs = self.run_killable(words, delay)
        if killed:
            self.stats["prune_kills"] += 1
        elif rc != 0:
            raise Failure("iteration %d: `cairn %s` exited %d without being killed\n%s"
                          % (i, " ".join(words), rc, err.decode(errors="replace")[-2000:]))
        else:
            self.stats["prune_completed"] += 1
            old = self.duration.get("prune")
            self.duration["prune"] = secs if old is None else 0.7 * old + 0.3 * secs

    def main_loop(self):
        os.makedirs(os.path.join(self.wd, "manifests"), exist_ok=True)
        self.setup()
        for i in range(1, self.args.iterations + 1):
            if self.args.max_minutes and time.monotonic() - self.start > self.args.max_minutes * 60:
                print("kill_harness: --max-minutes %g reached after %d iterations"
                      % (self.args.max_minutes, i - 1), flush=True)
                break
            self.stats["iterations"] = i
            if i > 1:
                self.source.mutate()
            outcome = self.snapshot_once(i)
            self.log("iteration %d: snapshot %s" % (i, outcome))
            self.scrub("iteration %d (snapshot %s)" % (i, outcome))
            # The listing (every snapshot known, none lost) is checked at every forget and at
            # the end; a killed writer's snapshot object is seen in the repository's objects.
            self.restore_all("iteration %d (snapshot %s)" % (i, outcome), check_listing=False)
            if i % self.args.prune_every == 0:
                self.forget_and_prune(i)
                self.scrub("iteration %d (after forget and prune)" % i)
                self.restore_all("iteration %d (after forget and prune)" % i)
            if not self.args.verbose and self.args.iterations >= 50 and i % 25 == 0:
                print("kill_harness: %d/%d iterations, %d snapshots verified so far"
                      % (i, self.args.iterations, self.stats["restores"]), flush=True)
        if self.has_prune:
            self.run(["prune", "--no-other-writers"], what="final prune")
            self.scrub("after the final prune --no-other-writers", orphans_allowed=False)
            self.restore_all("after the final prune")
        else:
            self.restore_all("at the end")

    def summary(self, failure):
        s = self.stats
        print("kill_harness: seed %d, %d iterations, source %d MiB, workdir %s"
              % (self.args.seed, s["iterations"], self.args.source_mb, self.wd))
        print("  snapshot runs: %d (%d completed, %d killed)" % (
            s["snapshot_runs"], s["snapshot_completed"], sum(s["snapshot_kills"].values())))
        for phase, n in sorted(s["snapshot_kills"].items()):
            print("    killed %s: %d" % (phase, n))
        if self.has_prune:
            print("  prune runs: %d (%d completed, %d killed)"
                  % (s["prune_runs"], s["prune_completed"], s["prune_kills"]))
        else:
            print("  prune: SKIPPED (this cairn has no prune command)")
        print("  cache wipes: %d; scrubs: %d; most orphaned packs seen at once: %d"
              % (s["cache_wipes"], s["scrubs"], s["orphan_notices_max"]))
        print("  snapshots restored and verified byte-identical: %d" % s["restores"])
        print("  %.0f s" % (time.monotonic() - self.start))
        if failure:
            print("FAIL: %s" % failure)
            print("  the workdir is left for forensics: %s (log: %s)" % (self.wd, self.log_path))
            print("0 passed, 1 failed")
        else:
            print("1 passed, 0 failed")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cairn", required=True, help="the cairn binary")
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", help="folder for repository, source and log (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the workdir even on success")
    ap.add_argument("--source-mb", type=int, default=6, help="size of the source tree")
    ap.add_argument("--prune-every", type=int, default=5)
    ap.add_argument("--keep-last", type=int, default=3)
    ap.add_argument("--no-other-writers-share", type=float, default=0.5,
                    help="share of the prunes in the loop run with --no-other-writers (the final "
                         "one always is)")
    ap.add_argument("--max-minutes", type=float, default=0,
                    help="stop starting iterations after this long (then the final checks run)")
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args(argv)
    args.cairn = os.path.abspath(args.cairn)
    if args.workdir:
        if os.path.exists(args.workdir) and os.listdir(args.workdir):
            ap.error("--workdir %s is not empty" % args.workdir)
    else:
        args.workdir = tempfile.mkdtemp(prefix="cairn-crash-")
    args.workdir = os.path.abspath(args.workdir)
    return args


def main(argv):
    args = parse_args(argv)
    h = Harness(args)
    failure = None
    try:
        h.main_loop()
    except Failure as e:
        failure = str(e)
    h.summary(failure)
    if failure:
        return 1
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
