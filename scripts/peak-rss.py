#!/usr/bin/env python3
"""Run a command and print its peak VmRSS, RssAnon (anonymous) and RssFile
(file-backed: mapped store files) in MiB, sampled from /proc/PID/status
every 20 ms, to stderr. Used for docs/scale.md's memory table:
    scripts/peak-rss.py tripoint trace --store S --seed ADDR --format json
With `--kill-above MIB` first, the command is killed once its RSS passes
MIB (so a measurement cannot push a shared machine into swap or the OOM
killer); the exit line then says so.
"""
import subprocess, sys, time
args = sys.argv[1:]
limit = None
if args[:1] == ["--kill-above"]:
    limit, args = int(args[1]) * 1024, args[2:]
p = subprocess.Popen(args)
killed = False
peak = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0, "VmHWM": 0}
t0 = time.time()
while p.poll() is None:
    try:
        for line in open(f"/proc/{p.pid}/status"):
            k = line.split(":")[0]
            if k in peak:
                peak[k] = max(peak[k], int(line.split()[1]))
        if limit is not None and peak["VmRSS"] > limit and not killed:
            p.kill()
            killed = True
    except FileNotFoundError:
        pass
    time.sleep(0.02)
print(f"[rss] {'KILLED above the limit, ' if killed else ''}exit {p.returncode} wall {time.time()-t0:.2f}s " + " ".join(f"{k}={v/1024:.0f}MiB" for k, v in peak.items()), file=sys.stderr)
sys.exit(p.returncode)
