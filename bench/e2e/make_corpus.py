#!/usr/bin/env python3
"""Generates a week of a small service's backups for the end-to-end benchmark.

    make_corpus.py --out WORKDIR/corpus [--scale 1.0] [--seed 7] [--reuse]

writes WORKDIR/corpus/day1 .. day7, one folder per nightly backup, and manifest.json with
the size of every kind of data per day. Each day holds:

    pg/appdb.sql            pg_dump -Fp (plain SQL) of a real PostgreSQL 15 database
    pg/appdb.Z0.dump        pg_dump -Fc -Z0 (custom format, uncompressed: what cairn recommends)
    pg/appdb.dump           pg_dump -Fc (custom format, default gzip: what people actually do)
    pg/wal/<segment>        the 16 MiB WAL segments the server archived that day
    redis/dump-nocompress.rdb   RDB with rdbcompression no
    redis/dump.rdb          RDB with the default LZF compression
    redis/appendonlydir/    Redis 7 multi-part AOF (base written on day 1, incr file grows)
    src/                    a source tree (headers copied from /usr/include), edited a little daily
    tarballs/src.tar, tarballs/src.tar.gz   the tree as a tarball, plain and gzipped

The database is pgbench's (`pgbench -i -s N`) plus an append-only `events` table of JSON-ish
rows; every day `pgbench -t` makes scattered updates, new events are inserted, and VACUUM runs
before the dumps, like a nightly maintenance job. A CHECKPOINT starts each day so that the WAL
carries the full-page images a real day's checkpoints produce. Redis holds users (hashes),
sessions (JSON strings), feeds (lists), counters and leaderboards (sorted sets); each day some
are updated, added and deleted.

Reproducible in composition and size for a given --scale and --seed on a given machine
(the source tree comes from this machine's /usr/include). Bytes differ between runs where the
servers write timestamps (pgbench_history rows, WAL page headers, RDB aux fields).

The servers (servers.py) run on 127.0.0.1 on free ports from WORKDIR/servers and are stopped on
exit, also on errors and signals. PostgreSQL refuses to run as root; when run as root its
programs run as the `postgres` user (created by the postgresql package) via runuser.
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import time

from servers import Postgres, RedisServer, log, resp

DAYS = 7
# Synthetic clock for the data's timestamps and the source tree's edits: 2024-03-01 02:00 UTC.
EPOCH = 1709258400

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike "
         "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee "
         "zulu order invoice payment refund cart basket item stock warehouse shipment parcel "
         "customer account profile session token login logout signup premium basic trial "
         "monthly yearly discount coupon review rating comment reply thread topic forum "
         "message inbox notify email phone address street city region country postal "
         "berlin paris london madrid rome vienna prague warsaw lisbon dublin oslo helsinki "
         "green blue red yellow purple orange black white silver golden small large medium "
         "quick lazy brown happy quiet bright dark early late fresh old new shiny").split()
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
          "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/119.0 Safari/537.36",
          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
          "okhttp/4.12.0", "curl/7.88.1", "python-requests/2.31.0"]
COUNTRIES = "de fr gb es it at cz pl pt ie no fi se dk nl be ch us ca br".split()


class Keyspace:
    """The model of the service's Redis data; yields the commands that make each day."""

    def __init__(self, scale, seed):
        self.scale = scale
        self.seed = seed
        self.next_user = 0
        self.sessions = []
        self.n_feeds = max(100, int(30000 * scale))
        self.n_counters = max(100, int(100000 * scale))
        self.n_lb_members = max(50, int(5000 * scale))

    def _text(self, rng, n):
        return " ".join(rng.choice(WORDS) for _ in range(n))

    def _user(self, rng, uid, day):
        return resp("HSET", f"user:{uid}", "name", f"{rng.choice(WORDS)} {rng.choice(WORDS)}",
                    "email", f"{rng.choice(WORDS)}.{uid}@example.com", "country",
                    rng.choice(COUNTRIES), "plan", rng.choice(("basic", "premium", "trial")),
                    "created", EPOCH - rng.randrange(10**8), "last_login",
                    EPOCH + day * 86400 + rng.randrange(86400), "visits", rng.randrange(10**4),
                    "bio", self._text(rng, rng.randrange(5, 25)))

    def _session(self, rng, day):
        sid = "%032x" % rng.getrandbits(128)
        value = json.dumps({
            "user": rng.randrange(max(1, self.next_user)),
            "ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
            "ua": rng.choice(AGENTS), "csrf": "%032x" % rng.getrandbits(128),
            "cart": [{"sku": rng.randrange(10**6), "qty": rng.randrange(1, 5)}
                     for _ in range(rng.randrange(4))],
            "expires": EPOCH + (day + 7) * 86400})
        return sid, resp("SET", f"sess:{sid}", value)

    def _feed_item(self, rng, day):
        return (f"{EPOCH + day * 86400 + rng.randrange(86400)}|{rng.choice(WORDS)}|"
                f"{self._text(rng, rng.randrange(3, 10))}")

    def day_commands(self, day):
        rng = random.Random(self.seed * 1000 + day)
        cmds = []
        if day == 1:
            n_users = max(200, int(250000 * self.scale))
            for uid in range(n_users):
                cmds.append(self._user(rng, uid, day))
            self.next_user = n_users
            for _ in range(max(200, int(250000 * self.scale))):
                sid, c = self._session(rng, day)
                self.sessions.append(sid)
                cmds.append(c)
            for i in range(self.n_feeds):
                cmds.append(resp("RPUSH", f"feed:{i}",
                                 *[self._feed_item(rng, day) for _ in range(20)]))
            for i in range(self.n_counters):
                cmds.append(resp("SET", f"views:{i}", rng.randrange(10**6)))
            for b in range(10):
                args = []
                for m in range(self.n_lb_members):
                    args += [rng.randrange(10**5), f"player:{m}"]
                cmds.append(resp("ZADD", f"lb:{b}", *args))
        else:
            n = self.next_user
            for uid in rng.sample(range(n), n // 20):  # 5% of users log in
                cmds.append(resp("HSET", f"user:{uid}", "last_login",
                                 EPOCH + day * 86400 + rng.randrange(86400), "visits",
                                 rng.randrange(10**4)))
            for uid in range(n, n + n // 100):  # 1% new users
                cmds.append(self._user(rng, uid, day))
            self.next_user = n + n // 100
            rng.shuffle(self.sessions)  # 30% of sessions expire, as many new ones start
            k = len(self.sessions) * 3 // 10
            for sid in self.sessions[:k]:
                cmds.append(resp("DEL", f"sess:{sid}"))
            self.sessions = self.sessions[k:]
            for _ in range(k):
                sid, c = self._session(rng, day)
                self.sessions.append(sid)
                cmds.append(c)
            for i in rng.sample(range(self.n_feeds), self.n_feeds // 5):
                cmds.append(resp("LPUSH", f"feed:{i}",
                                 *[self._feed_item(rng, day) for _ in range(3)]))
                cmds.append(resp("LTRIM", f"feed:{i}", 0, 49))
            for i in rng.sample(range(self.n_counters), self.n_counters // 5):
                cmds.append(resp("INCRBY", f"views:{i}", rng.randrange(1, 100)))
            for b in range(10):
                for m in rng.sample(range(self.n_lb_members), self.n_lb_members // 10):
                    cmds.append(resp("ZINCRBY", f"lb:{b}", rng.randrange(1, 50), f"player:{m}"))
        return cmds


def copy_source_tree(src_root, dest, budget_bytes):
    """Copies regular files and symlinks from src_root in sorted order up to budget_bytes."""
    total = 0
    files = 0
    for dirpath, dirnames, filenames in os.walk(src_root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, src_root)
        out_dir = os.path.normpath(os.path.join(dest, rel))
        os.makedirs(out_dir, exist_ok=True)
        for name in sorted(filenames):
            src = os.path.join(dirpath, name)
            out = os.path.join(out_dir, name)
            if os.path.islink(src):
                os.symlink(os.readlink(src), out)
            elif os.path.isfile(src):
                shutil.copy2(src, out)
                total += os.path.getsize(out)
                files += 1
            if total >= budget_bytes:
                return total, files
    return total, files


def mutate_source_tree(tree, day, seed):
    """Edits, adds and deletes a few files, never in place (earlier days are hardlinks)."""
    rng = random.Random(seed * 1000 + 100 + day)
    files = []
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames.sort()
        for n in sorted(filenames):
            p = os.path.join(dirpath, n)
            if os.path.isfile(p) and not os.path.islink(p):
                files.append(p)
    stamp = EPOCH + day * 86400
    n_edit = max(3, len(files) // 200)
    n_add = max(1, len(files) // 1000)
    n_del = max(1, len(files) // 1000)
    picked = rng.sample(files, n_edit + n_add + n_del)
    for k, p in enumerate(picked[:n_edit]):
        with open(p, "rb") as f:
            data = f.read()
        lines = data.split(b"\n")
        at = rng.randrange(len(lines) + 1)
        lines.insert(at, b"/* cairn-bench: day %d edit %d */" % (day, k))
        tmp = p + ".tmp"
        with open(tmp, "wb") as f:
            f.write(b"\n".join(lines))
        os.replace(tmp, p)
        os.utime(p, (stamp, stamp))
    for k, p in enumerate(picked[n_edit:n_edit + n_add]):
        new = os.path.join(os.path.dirname(p), f"added_day{day}_{k}.h")
        with open(p, "rb") as f:
            data = f.read()
        with open(new, "wb") as f:
            f.write(b"/* generated on day %d */\n" % day + data)
        os.utime(new, (stamp, stamp))
    for p in picked[n_edit + n_add:]:
        os.unlink(p)
    return n_edit, n_add, n_del


def tree_bytes(path):
    total = 0
    files = 0
    for dirpath, _, filenames in os.walk(path):
        for n in filenames:
            p = os.path.join(dirpath, n)
            if os.path.isfile(p) and not os.path.islink(p):
                total += os.path.getsize(p)
                files += 1
    return total, files


def make_tarballs(day_dir):
    tdir = os.path.join(day_dir, "tarballs")
    os.makedirs(tdir, exist_ok=True)
    tar = os.path.join(tdir, "src.tar")
    subprocess.run(["tar", "--sort=name", "--format=gnu", "-cf", tar, "-C", day_dir, "src"],
                   check=True)
    with open(tar + ".gz", "wb") as out:
        subprocess.run(["gzip", "-n", "-c", tar], stdout=out, check=True)


def pg_day(pg, day, args, day_dir, rng_seed):
    pgdir = os.path.join(day_dir, "pg")
    os.makedirs(pgdir, exist_ok=True)
    pg.sql("CHECKPOINT")
    tx = max(100, int(args.pg_tx_per_day * args.scale))
    pg.run(["pgbench", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-n", "-c", "2",
            "-j", "2", "-t", str(tx // 2), f"--random-seed={rng_seed + day}", "appdb"])
    rows = max(1000, int(args.events_per_day * args.scale))
    pg.sql(f"SELECT setseed({(day % 100) / 100.0}); " + f"""
        INSERT INTO events (at, kind, user_id, payload)
        SELECT timestamptz '2024-03-01 00:00:00+00' + ({day} - 1) * interval '1 day'
                 + (i * 86400.0 / {rows}) * interval '1 second',
               (ARRAY['login','view','search','cart','order','payment','logout'])
                 [1 + floor(random() * 7)::int],
               floor(random() * 100000)::int,
               json_build_object(
                 'path', '/api/v1/items/' || floor(random() * 1000000)::int,
                 'ip', '10.' || floor(random() * 256)::int || '.' || floor(random() * 256)::int
                       || '.' || floor(random() * 256)::int,
                 'status', (ARRAY[200,200,200,201,204,301,404,500])[1 + floor(random() * 8)::int],
                 'ms', round((random() * 250)::numeric, 2),
                 'trace', md5(random()::text),
                 'q', (ARRAY['red shoes','blue shirt','green lamp','phone case','desk chair',
                             'coffee beans','usb cable','running socks'])
                        [1 + floor(random() * 8)::int])::text
        FROM generate_series(1, {rows}) AS i""")
    pg.sql("VACUUM ANALYZE")
    segs = pg.switch_and_collect(os.path.join(pgdir, "wal"))
    dumps = [("appdb.sql", ["-Fp"]), ("appdb.Z0.dump", ["-Fc", "-Z0"]), ("appdb.dump", ["-Fc"])]
    for name, fmt in dumps:
        with open(os.path.join(pgdir, name), "wb") as out:
            pg.run(["pg_dump", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres"] + fmt +
                   ["appdb"], stdout=out)
    return len(segs)


def file_size(path):
    return os.path.getsize(path) if os.path.exists(path) else 0


def describe_day(day_dir):
    pgdir = os.path.join(day_dir, "pg")
    rd = os.path.join(day_dir, "redis")
    wal_bytes, wal_files = tree_bytes(os.path.join(pgdir, "wal"))
    aof_bytes, aof_files = tree_bytes(os.path.join(rd, "appendonlydir"))
    src_bytes, src_files = tree_bytes(os.path.join(day_dir, "src"))
    total, files = tree_bytes(day_dir)
    return {
        "pg_plain": file_size(os.path.join(pgdir, "appdb.sql")),
        "pg_custom_Z0": file_size(os.path.join(pgdir, "appdb.Z0.dump")),
        "pg_custom_gzip": file_size(os.path.join(pgdir, "appdb.dump")),
        "wal": wal_bytes, "wal_segments": wal_files,
        "redis_rdb_nocompress": file_size(os.path.join(rd, "dump-nocompress.rdb")),
        "redis_rdb_lzf": file_size(os.path.join(rd, "dump.rdb")),
        "redis_aof": aof_bytes, "redis_aof_files": aof_files,
        "src_tree": src_bytes, "src_files": src_files,
        "tar": file_size(os.path.join(day_dir, "tarballs", "src.tar")),
        "tar_gz": file_size(os.path.join(day_dir, "tarballs", "src.tar.gz")),
        "total_bytes": total, "files": files,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="corpus folder (day1..day7 go inside)")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="1.0 is about 1.5-2 GiB per day; 0.1 is a one-minute smoke corpus")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--reuse", action="store_true",
                    help="keep an existing corpus made with the same parameters")
    ap.add_argument("--pg-scale-per-unit", type=int, default=30,
                    help="pgbench -s at --scale 1 (3 million accounts)")
    ap.add_argument("--pg-tx-per-day", type=int, default=40000,
                    help="pgbench transactions per day at --scale 1")
    ap.add_argument("--events-per-day", type=int, default=80000,
                    help="rows appended to the events table per day at --scale 1")
    ap.add_argument("--src-mib", type=float, default=160,
                    help="MiB of /usr/include in the source tree at --scale 1")
    args = ap.parse_args()

    out = os.path.abspath(args.out)
    params = {k: v for k, v in vars(args).items() if k not in ("out", "reuse")}
    manifest_path = os.path.join(out, "manifest.json")
    if args.reuse and os.path.exists(manifest_path):
        with open(manifest_path) as f:
            old = json.load(f)
        if old.get("params") == params and all(
                os.path.isdir(os.path.join(out, f"day{d}")) for d in range(1, DAYS + 1)):
            log(f"reusing the corpus in {out}")
            return
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    servers = os.path.join(os.path.dirname(out), "servers")
    if os.path.exists(servers):
        shutil.rmtree(servers)
    os.makedirs(servers)
    os.chmod(servers, 0o755)
    logf = open(os.path.join(out, "generate.log"), "w")

    def on_signal(signum, frame):
        raise SystemExit(f"make_corpus: interrupted by signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    pg = Postgres(os.path.join(servers, "pg"), logf)
    os.makedirs(pg.root)
    redis = RedisServer(os.path.join(servers, "redis"), logf)
    keyspace = Keyspace(args.scale, args.seed)
    started = time.time()
    days = {}
    try:
        pg.start()
        redis.start()
        pg.sql("CREATE DATABASE appdb", db="postgres")
        pg_scale = max(1, round(args.pg_scale_per_unit * args.scale))
        log(f"pgbench -i -s {pg_scale}")
        pg.run(["pgbench", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-i", "-q",
                "-s", str(pg_scale), "appdb"])
        pg.sql("CREATE TABLE events (id bigserial PRIMARY KEY, at timestamptz NOT NULL, "
               "kind text NOT NULL, user_id int NOT NULL, payload text NOT NULL)")
        pg.switch_and_collect(None)  # the initial load's WAL is not part of any day
        for day in range(1, DAYS + 1):
            t0 = time.time()
            day_dir = os.path.join(out, f"day{day}")
            os.makedirs(day_dir)
            segs = pg_day(pg, day, args, day_dir, args.seed * 1000)
            redis.pipe(keyspace.day_commands(day))
            if day == 1:
                redis.rewrite_aof()
            redis.save_to(os.path.join(day_dir, "redis"))
            src = os.path.join(day_dir, "src")
            if day == 1:
                copy_source_tree("/usr/include", src, int(args.src_mib * args.scale * 2**20))
            else:
                subprocess.run(["cp", "-al", os.path.join(out, f"day{day - 1}", "src"), src],
                               check=True)
                mutate_source_tree(src, day, args.seed)
            make_tarballs(day_dir)
            days[f"day{day}"] = describe_day(day_dir)
            log(f"day{day}: {days[f'day{day}']['total_bytes'] / 1e6:.0f} MB, {segs} WAL "
                f"segments, {time.time() - t0:.0f} s")
    finally:
        for stop in (redis.stop, pg.stop):
            try:
                stop()
            except Exception as e:  # keep stopping the others
                log(f"while stopping a server: {e}")
        if os.path.exists(servers):
            shutil.rmtree(servers, ignore_errors=True)
    versions = {
        "postgresql": subprocess.run([os.path.join(pg.bindir, "postgres"), "--version"],
                                     capture_output=True, text=True).stdout.strip(),
        "redis": subprocess.run(["redis-server", "--version"], capture_output=True,
                                text=True).stdout.strip(),
    }
    manifest = {"params": params, "pg_scale": pg_scale, "days": days, "versions": versions,
                "generated_s": round(time.time() - started, 1)}
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
    log(f"corpus ready in {out} ({time.time() - started:.0f} s)")


if __name__ == "__main__":
    main()
