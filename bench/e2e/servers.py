"""Throwaway PostgreSQL and Redis servers for make_corpus.py.

Both listen on 127.0.0.1 on a free port and keep everything in a folder of their own; the
caller stops them (also on errors and signals). PostgreSQL refuses to run as root: when run as
root, its programs run as the `postgres` user (created by the postgresql package) via runuser.
"""
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time


def log(msg):
    print(f"[make_corpus {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bindir():
    for cand in ("/usr/lib/postgresql/15/bin",):
        if os.path.exists(os.path.join(cand, "pg_ctl")):
            return cand
    out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
    if out.returncode == 0 and os.path.exists(os.path.join(out.stdout.strip(), "pg_ctl")):
        return out.stdout.strip()
    sys.exit("make_corpus: PostgreSQL server binaries not found (run bench/e2e/deps.sh)")


class Postgres:
    """A throwaway PostgreSQL server in `root`, on 127.0.0.1:port."""

    def __init__(self, root, logf):
        self.root = root
        self.data = os.path.join(root, "data")
        self.archive = os.path.join(root, "archive")
        self.bindir = pg_bindir()
        self.port = free_port()
        self.logf = logf
        self.user = "postgres" if os.geteuid() == 0 else None
        self.running = False

    def _cmd(self, argv):
        argv = [os.path.join(self.bindir, argv[0])] + argv[1:]
        if self.user:
            argv = ["runuser", "-u", self.user, "--"] + argv
        return argv

    def run(self, argv, stdout=None, input_text=None):
        if stdout is None:
            stdout = self.logf
        r = subprocess.run(self._cmd(argv), stdout=stdout, stderr=self.logf, cwd=self.root,
                           input=input_text.encode() if input_text is not None else None)
        if r.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed with status {r.returncode} (see generate.log)")

    def sql(self, text, db="appdb"):
        r = subprocess.run(
            self._cmd(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d",
                       db, "-v", "ON_ERROR_STOP=1", "-Atq", "-c", text]),
            capture_output=True, text=True, cwd=self.root)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed: {r.stderr.strip()}")
        return r.stdout.strip()

    def start(self):
        os.makedirs(self.archive, exist_ok=True)
        if self.user:
            pw = pwd.getpwnam(self.user)
            for d in (self.root, self.archive):
                os.chown(d, pw.pw_uid, pw.pw_gid)
            probe = subprocess.run(["runuser", "-u", self.user, "--", "test", "-w", self.root])
            if probe.returncode != 0:
                sys.exit(f"make_corpus: user {self.user} cannot write {self.root}; "
                         "use a WORKDIR every user can traverse (e.g. under /tmp)")
        self.run(["initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync"])
        archive_cmd = f"cp %p {self.archive}/%f.tmp && mv {self.archive}/%f.tmp {self.archive}/%f"
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",
            # The generator's own durability does not matter; the WAL it writes is still real.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "on",
            "wal_level": "replica",
            "archive_mode": "on",
            "archive_command": "'" + archive_cmd + "'",
            "max_wal_size": "'8GB'",
            "checkpoint_timeout": "'1h'",
            "autovacuum": "off",  # VACUUM runs nightly before the dumps instead
            "shared_buffers": "'256MB'",
        }
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            for k, v in conf.items():
                f.write(f"{k} = {v}\n")
        self.run(["pg_ctl", "-D", self.data, "-l", os.path.join(self.root, "server.log"), "-w",
                  "start"])
        self.running = True
        log(f"postgres {self.port} started in {self.root}")

    def stop(self):
        if self.running:
            self.run(["pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"])
            self.running = False
            log("postgres stopped")

    def switch_and_collect(self, dest):
        """Closes the current WAL segment, waits until it is archived, moves the archive."""
        seg = self.sql("SELECT pg_walfile_name(pg_switch_wal())")
        deadline = time.time() + 300
        while self.sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") < seg:
            if time.time() > deadline:
                raise RuntimeError(f"WAL segment {seg} was not archived within 300 s")
            time.sleep(0.2)
        names = sorted(n for n in os.listdir(self.archive) if not n.endswith(".tmp"))
        if dest:
            os.makedirs(dest, exist_ok=True)
        for n in names:
            src = os.path.join(self.archive, n)
            if dest:
                shutil.move(src, os.path.join(dest, n))
            else:
                os.unlink(src)
        return names


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class RedisServer:
    """A throwaway redis-server in `root`, on 127.0.0.1:port, with a multi-part AOF."""

    def __init__(self, root, logf):
        self.root = root
        self.port = free_port()
        self.logf = logf
        self.proc = None

    def start(self):
        os.makedirs(self.root, exist_ok=True)
        conf = os.path.join(self.root, "redis.conf")
        with open(conf, "w") as f:
            f.write(f"bind 127.0.0.1\nport {self.port}\ndir {self.root}\n"
                    "save \"\"\nappendonly yes\nappendfsync no\naof-use-rdb-preamble yes\n"
                    "auto-aof-rewrite-percentage 0\ndbfilename dump.rdb\n"
                    f"logfile {os.path.join(self.root, 'redis.log')}\nprotected-mode yes\n")
        self.proc = subprocess.Popen(["redis-server", conf], stdout=self.logf, stderr=self.logf)
        for _ in range(100):
            if self.cli("PING", check=False) == "PONG":
                log(f"redis {self.port} started in {self.root}")
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start (see redis.log)")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.cli("SHUTDOWN", "NOSAVE", check=False)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            log("redis stopped")
        self.proc = None

    def cli(self, *args, check=True):
        r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port)] +
                           [str(a) for a in args], capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"redis-cli {args[0]} failed: {r.stderr.strip()}")
        return r.stdout.strip()

    def info(self, field):
        for line in self.cli("INFO", "persistence").splitlines():
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
        return ""

    def pipe(self, commands):
        p = subprocess.Popen(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "--pipe"],
                             stdin=subprocess.PIPE, stdout=self.logf, stderr=self.logf)
        buf = []
        size = 0
        for c in commands:
            buf.append(c)
            size += len(c)
            if size > 1 << 20:
                p.stdin.write(b"".join(buf))
                buf, size = [], 0
        p.stdin.write(b"".join(buf))
        p.stdin.close()
        if p.wait() != 0:
            raise RuntimeError("redis-cli --pipe failed (see generate.log)")

    def rewrite_aof(self):
        """Compacts the AOF into an RDB-preamble base file, as Redis does now and then."""
        self.cli("BGREWRITEAOF")
        self._wait("aof_rewrite_in_progress")

    def _wait(self, field):
        time.sleep(0.2)
        deadline = time.time() + 600
        while self.info(field) != "0" or self.info("aof_rewrite_scheduled") == "1":
            if time.time() > deadline:
                raise RuntimeError(f"redis: {field} still running after 600 s")
            time.sleep(0.2)

    def save_to(self, dest):
        os.makedirs(dest, exist_ok=True)
        rdb = os.path.join(self.root, "dump.rdb")
        self.cli("CONFIG", "SET", "rdbcompression", "no")
        self.cli("SAVE")
        shutil.copy2(rdb, os.path.join(dest, "dump-nocompress.rdb"))
        self.cli("CONFIG", "SET", "rdbcompression", "yes")
        self.cli("SAVE")
        shutil.copy2(rdb, os.path.join(dest, "dump.rdb"))
        # The AOF is written before replies are sent; copy2 keeps the mtime of the unchanged
        # base file so incremental tools can skip it.
        shutil.copytree(os.path.join(self.root, "appendonlydir"),
                        os.path.join(dest, "appendonlydir"))
