#!/usr/bin/env python3
"""Turns WORKDIR/results.jsonl into results.json, results.csv and summary.md (also printed).

    report.py WORKDIR

MB = 10^6 bytes, MiB = 2^20 bytes. Throughput is logical input bytes (the whole day's folder,
including files an incremental tool skips) divided by wall time. Restore figures are medians
over the runs. Ratios are cairn / other tool; the targets are those of issue 7.
"""
import csv
import json
import os
import statistics
import sys

KINDS = [("pg_plain", "pg_dump -Fp (plain SQL)"), ("pg_custom_Z0", "pg_dump -Fc -Z0"),
         ("pg_custom_gzip", "pg_dump -Fc (gzip)"), ("wal", "WAL segments"),
         ("redis_rdb_nocompress", "Redis RDB, rdbcompression no"),
         ("redis_rdb_lzf", "Redis RDB, LZF (default)"), ("redis_aof", "Redis AOF (multi-part)"),
         ("src_tree", "source tree"), ("tar", "source tarball (.tar)"),
         ("tar_gz", "source tarball (.tar.gz)")]


def load(workdir):
    with open(os.path.join(workdir, "results.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    env, manifest = {}, {}
    if os.path.exists(os.path.join(workdir, "env.json")):
        with open(os.path.join(workdir, "env.json")) as f:
            env = json.load(f)
    if os.path.exists(os.path.join(workdir, "corpus", "manifest.json")):
        with open(os.path.join(workdir, "corpus", "manifest.json")) as f:
            manifest = json.load(f)
    return rows, env, manifest


def mbps(nbytes, wall):
    return nbytes / wall / 1e6 if wall > 0 else float("nan")


def new_bytes(workdir, tool, day):
    """Raw (uncompressed) bytes the tool itself counted as new on `day`, from its log."""
    try:
        with open(os.path.join(workdir, "logs", f"{tool}.day{day}.out")) as f:
            text = f.read()
        if tool == "cairn":
            return json.loads(text)["bytes_added"]
        if tool == "restic":
            lines = [json.loads(x) for x in text.splitlines() if '"summary"' in x]
            return lines[-1]["data_added"]
        if tool.startswith("borg"):
            now = json.loads(text)["cache"]["stats"]["unique_size"]
            if day == 1:
                return now
            with open(os.path.join(workdir, "logs", f"{tool}.day{day - 1}.out")) as f:
                return now - json.loads(f.read())["cache"]["stats"]["unique_size"]
    except (OSError, ValueError, KeyError, IndexError):
        return None
    return None


def summarize(rows, tools, workdir):
    """Per tool: the figures of the summary table (None where the step did not run)."""
    out = {}
    for t in tools:
        r = [x for x in rows if x["tool"] == t and x["rc"] in (0, 3)]
        first_all = [x for x in r if x["step"] == "first"]
        first = [x for x in first_all if x["run"] == 1]  # the one in the week's repository
        incr = [x for x in r if x["step"] == "incr"]
        backups = first + incr
        s = {}
        if first_all:
            s["first_mbps"] = statistics.median(mbps(x["bytes"], x["wall_s"]) for x in first_all)
            s["first_runs"] = len(first_all)
        if incr:
            s["incr_mbps"] = statistics.median(mbps(x["bytes"], x["wall_s"]) for x in incr)
            s["incr_total_s"] = sum(x["wall_s"] for x in incr)
            new = [new_bytes(workdir, t, x["day"]) for x in incr]
            if new and all(n is not None for n in new):
                s["incr_new_mb"] = statistics.median(new) / 1e6
                s["incr_new_fraction"] = statistics.median(
                    n / x["bytes"] for n, x in zip(new, incr))
        if backups:
            gb = sum(x["bytes"] for x in backups) / 1e9
            cpu = sum(x["user_s"] + x["sys_s"] for x in backups)
            s["backup_cpu_s_per_gb"] = cpu / gb
            s["backup_cpu_util"] = cpu / sum(x["wall_s"] for x in backups)
            s["backup_rss_mib"] = max(x["maxrss_kb"] for x in backups) / 1024
            last = max(backups, key=lambda x: x["day"])
            s["repo_mib"] = last["repo_bytes"] / 2**20
            s["cache_mib"] = last["cache_bytes"] / 2**20
            s["week_s"] = sum(x["wall_s"] for x in backups)
        for step in ("unchanged", "stream"):
            x = [y for y in r if y["step"] == step]
            if x:
                s[f"{step}_mbps"] = statistics.median(mbps(y["bytes"], y["wall_s"]) for y in x)
                s[f"{step}_mib"] = x[0]["bytes"] / 2**20
        for mode in ("cold", "warm"):
            x = [y for y in r if y["step"] == "restore" and y["cache"] == mode]
            if x:
                wall = statistics.median(y["wall_s"] for y in x)
                s[f"restore_{mode}_mbps"] = mbps(x[0]["bytes"], wall)
                s[f"restore_{mode}_spread"] = (mbps(x[0]["bytes"], max(y["wall_s"] for y in x)),
                                               mbps(x[0]["bytes"], min(y["wall_s"] for y in x)))
                s[f"restore_{mode}_rss_mib"] = max(y["maxrss_kb"] for y in x) / 1024
                s[f"restore_{mode}_cpu_s_per_gb"] = statistics.median(
                    (y["user_s"] + y["sys_s"]) / (y["bytes"] / 1e9) for y in x)
                s[f"restore_{mode}_sync_s"] = statistics.median(y["sync_s"] for y in x)
        verifies = [y["verify"] for y in r if y["step"] == "restore"]
        s["verify"] = ("ok" if verifies and all(v in ("ok", "ok-sizes") for v in verifies)
                       else ", ".join(sorted(set(verifies))) or "not run")
        failed = [x for x in rows if x["tool"] == t and x["rc"] not in (0, 3)]
        s["failed_steps"] = [f"{x['step']} day{x['day']} (exit {x['rc']})" for x in failed]
        out[t] = s
    return out


# (key, label, higher_is_better, format)
METRICS = [
    ("first_mbps", "first snapshot (day1, median), MB/s", True, "{:.0f}"),
    ("incr_mbps", "daily incremental (day2-7, median), MB/s", True, "{:.0f}"),
    ("incr_new_mb", "new raw data per day as the tool counts it (day2-7, median), MB", False,
     "{:.0f}"),
    ("unchanged_mbps", "re-snapshot of the unchanged folder (median), MB/s", True, "{:.0f}"),
    ("stream_mbps", "re-snapshot of an unchanged {stream_mib:.0f} MiB stream (stdin, median), MB/s",
     True, "{:.0f}"),
    ("restore_cold_mbps", "restore latest, cold (median), MB/s", True, "{:.0f}"),
    ("restore_warm_mbps", "restore latest, warm (median), MB/s", True, "{:.0f}"),
    ("repo_mib", "repository size after day7, MiB", False, "{:.0f}"),
    ("cache_mib", "local cache/index size after day7, MiB", False, "{:.0f}"),
    ("backup_rss_mib", "peak RSS, backups, MiB", False, "{:.0f}"),
    ("restore_warm_rss_mib", "peak RSS, restore, MiB", False, "{:.0f}"),
    ("backup_cpu_s_per_gb", "CPU s per GB backed up (user+sys, days 1-7)", False, "{:.2f}"),
    ("backup_cpu_util", "cores busy during backups (CPU s / wall s)", None, "{:.2f}"),
    ("restore_warm_cpu_s_per_gb", "CPU s per GB restored (warm)", False, "{:.2f}"),
    ("week_s", "wall time for the week of backups, s", False, "{:.1f}"),
]


def fmt(v, f):
    if v is None:
        return "-"
    return f.format(v)


def target_check(s):
    """The issue-7 targets, as (text, verdict) pairs."""
    c = s.get("cairn", {})
    out = []

    def ratio(key, other):
        a, b = c.get(key), s.get(other, {}).get(key)
        return a / b if a is not None and b else None

    def line(text, value, ok):
        verdict = "-" if value is None else ("met" if ok else "NOT met")
        out.append((text, verdict))

    for key, label, r_restic, r_borg in (("first_mbps", "first snapshot", 2.5, 2.0),
                                         ("incr_mbps", "daily incrementals", 3.0, 2.0)):
        v = ratio(key, "restic")
        line(f"{label} >= {r_restic}x restic: {fmt(v, '{:.2f}')}x", v, v is not None and v >= r_restic)
        v = ratio(key, "borg-lz4")
        line(f"{label} >= {r_borg}x borg lz4: {fmt(v, '{:.2f}')}x", v, v is not None and v >= r_borg)
    v = c.get("stream_mbps")
    line(f"re-snapshot of an unchanged {fmt(c.get('stream_mib'), '{:.0f}')} MiB stream "
         f">= 1500 MB/s: {fmt(v, '{:.0f}')} MB/s", v, v is not None and v >= 1500)
    for mode in ("cold", "warm"):
        v = ratio(f"restore_{mode}_mbps", "restic")
        line(f"restore {mode} >= 2x restic: {fmt(v, '{:.2f}')}x", v, v is not None and v >= 2)
    others = [s[t]["repo_mib"] for t in ("restic", "borg-zstd") if s.get(t, {}).get("repo_mib")]
    v = c.get("repo_mib")
    line(f"repository <= min(restic, borg zstd): {fmt(v, '{:.0f}')} MiB vs "
         f"{fmt(min(others) if others else None, '{:.0f}')} MiB", v if others else None,
         v is not None and others and v <= min(others))
    v, o = c.get("backup_rss_mib"), s.get("restic", {}).get("backup_rss_mib")
    line(f"peak RSS (backup) < restic's: {fmt(v, '{:.0f}')} vs {fmt(o, '{:.0f}')} MiB",
         v if o else None, v is not None and o and v < o)
    v, o = c.get("backup_cpu_s_per_gb"), s.get("borg-lz4", {}).get("backup_cpu_s_per_gb")
    line(f"CPU s per GB backed up < borg lz4's: {fmt(v, '{:.2f}')} vs {fmt(o, '{:.2f}')}",
         v if o else None, v is not None and o and v < o)
    return out


def markdown(rows, env, manifest, s, tools):
    md = []
    cmd = env.get("command", "bench/e2e/run.sh")
    md.append(f"## End-to-end benchmark: {', '.join(tools)}\n")
    md.append(f"`{cmd}` — {env.get('date', '?')}; {env.get('nproc', '?')} cores "
              f"({env.get('cpu', '?')}), {env.get('mem_bytes', 0) / 2**30:.0f} GiB RAM, "
              f"Linux {env.get('kernel', '?')}; cairn {env.get('cairn_rev', '?')}, "
              f"{env.get('restic', '?')}, {env.get('borg', '?')}; restic flags "
              f"`{env.get('restic_flags') or '(defaults)'}`, borg `-e repokey`; cold restores via "
              f"{env.get('cold', '?')}; runs per step: {env.get('runs', '?')}.\n")
    others = [t for t in tools if t != "cairn"]
    head = ["metric"] + tools + ([f"cairn/{t}" for t in others] if "cairn" in tools else [])
    md.append("| " + " | ".join(head) + " |")
    md.append("|" + "---|" * len(head))
    for key, label, higher, f in METRICS:
        vals = [s[t].get(key) for t in tools]
        if all(v is None for v in vals):
            continue
        stream_mib = next((s[t]["stream_mib"] for t in tools if "stream_mib" in s[t]), 0)
        label = label.format(stream_mib=stream_mib)
        line = [label + ("" if higher is None else (" ↑" if higher else " ↓"))]
        line += [fmt(v, f) for v in vals]
        if "cairn" in tools:
            c = s["cairn"].get(key)
            for t in others:
                o = s[t].get(key)
                line.append(f"{c / o:.2f}" if c is not None and o else "-")
        md.append("| " + " | ".join(line) + " |")
    md.append("| restores verified | " + " | ".join(s[t]["verify"] for t in tools) +
              (" |" + " |" * len(others) if "cairn" in tools else " |"))
    md.append("\n↑ higher is better, ↓ lower is better. Throughput: the day's whole folder "
              "divided by wall time (MB = 10^6 bytes).\n")
    if "cairn" in tools:
        md.append("### Issue 7 targets (cairn)\n")
        md.append("| target | verdict |")
        md.append("|---|---|")
        for text, verdict in target_check(s):
            md.append(f"| {text} | {verdict} |")
        md.append("")

    md.append("### Per day: wall time in s (MB/s), and repository growth in MiB\n")
    head = ["day", "folder MB"] + [f"{t}" for t in tools] + [f"{t} +repo" for t in tools]
    md.append("| " + " | ".join(head) + " |")
    md.append("|" + "---|" * len(head))
    for day in range(1, 8):
        day_rows = {x["tool"]: x for x in rows
                    if x["step"] in ("first", "incr") and x["day"] == day and x["run"] == 1}
        if not day_rows:
            continue
        nbytes = next(iter(day_rows.values()))["bytes"]
        line = [f"day{day}", f"{nbytes / 1e6:.0f}"]
        for t in tools:
            x = day_rows.get(t)
            if x and x["rc"] not in (0, 3):
                line.append(f"failed (exit {x['rc']})")
            else:
                line.append(f"{x['wall_s']:.1f} ({mbps(x['bytes'], x['wall_s']):.0f})" if x else "-")
        for t in tools:
            x = day_rows.get(t)
            prev = [y for y in rows if y["tool"] == t and y["step"] in ("init", "first", "incr")
                    and y["day"] == day - 1 and y["run"] == 1]
            if x and prev:
                line.append(f"{(x['repo_bytes'] - prev[0]['repo_bytes']) / 2**20:.0f}")
            else:
                line.append("-")
        md.append("| " + " | ".join(line) + " |")
    md.append("")

    if manifest.get("days"):
        days = manifest["days"]
        md.append(f"### Corpus (scale {manifest['params']['scale']}, pgbench -s "
                  f"{manifest.get('pg_scale')}, {manifest['params']['pg_tx_per_day']} × scale "
                  f"pgbench transactions per day; {manifest.get('versions', {}).get('postgresql', '')}, "
                  f"{manifest.get('versions', {}).get('redis', '').split(' sha=')[0]})\n")
        md.append("| kind | day1 MB | day7 MB | week total MB |")
        md.append("|---|---|---|---|")
        for key, label in KINDS:
            d1, d7 = days["day1"].get(key, 0), days["day7"].get(key, 0)
            tot = sum(d.get(key, 0) for d in days.values())
            extra = ""
            if key == "wal":
                extra = f" ({days['day1']['wal_segments']}-{days['day7']['wal_segments']} segments/day)"
            if key == "src_tree":
                extra = f" ({days['day7']['src_files']} files)"
            md.append(f"| {label}{extra} | {d1 / 1e6:.0f} | {d7 / 1e6:.0f} | {tot / 1e6:.0f} |")
        tot = sum(d["total_bytes"] for d in days.values())
        md.append(f"| **all** | {days['day1']['total_bytes'] / 1e6:.0f} | "
                  f"{days['day7']['total_bytes'] / 1e6:.0f} | {tot / 1e6:.0f} |")
        md.append("")
    failed = {t: s[t]["failed_steps"] for t in tools if s[t]["failed_steps"]}
    if failed:
        md.append("**Failed steps:** " + "; ".join(f"{t}: {', '.join(v)}" for t, v in failed.items()))
    return "\n".join(md) + "\n"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    workdir = sys.argv[1]
    rows, env, manifest = load(workdir)
    tools = env.get("tools") or sorted({x["tool"] for x in rows})
    s = summarize(rows, tools, workdir)
    with open(os.path.join(workdir, "results.json"), "w") as f:
        json.dump({"env": env, "corpus": manifest, "summary": s, "steps": rows}, f, indent=1)
    with open(os.path.join(workdir, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    md = markdown(rows, env, manifest, s, tools)
    with open(os.path.join(workdir, "summary.md"), "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
