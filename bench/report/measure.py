#!/usr/bin/env python3
"""Ends the seeded rooms (each a session held), then times report generation
through the API: every report REPS times, the median and the slowest, with
the Redis commands one report costs (INFO commandstats before and after).
Checks the report's totals against what was seeded.

usage: measure.py BASE_URL SECRET ROOMS_FILE REDIS_PORT APPLICATIONS REPS
"""
import json, statistics, subprocess, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from setup import token  # noqa: E402


def get(base, path, bearer):
    req = urllib.request.Request(base + "/api/v1" + path)
    req.add_header("authorization", "Bearer " + bearer)
    with urllib.request.urlopen(req) as resp:
        return resp.read()


def commandstats(port):
    out = subprocess.run(["redis-cli", "-p", port, "INFO", "commandstats"], capture_output=True,
                         text=True, check=True).stdout
    stats = {}
    for line in out.splitlines():
        if line.startswith("cmdstat_"):
            name, rest = line[len("cmdstat_"):].split(":", 1)
            stats[name] = int(rest.split(",")[0].split("=")[1])
    return stats


def main():
    base, secret, rooms_file, port, applications, reps = (
        sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    admin = token(secret, "admin", "bench-admin")
    rooms = [r for r in open(rooms_file).read().split() if r]

    def end(room):
        req = urllib.request.Request(f"{base}/api/v1/rooms/{room}/end", data=b"", method="POST")
        req.add_header("authorization", "Bearer " + admin)
        urllib.request.urlopen(req).read()

    t0 = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(end, rooms))
    print(f"ended {len(rooms)} rooms in {time.monotonic() - t0:.1f} s")

    whole = json.loads(get(base, "/reports/quarterly", admin))
    f = whole["figures"]
    print(f"report: {f['sessions']} sessions, {f['employers']} employers, {f['jobs']} jobs, "
          f"{f['headcount']} headcount, {f['applications']} applications, "
          f"{sum(f['applications_by_key_group'].values())} with a consented key group, "
          f"{f['unique_viewers']} unique viewers")
    ok = f["sessions"] == len(rooms) and f["applications"] == applications
    print("totals match the seed" if ok else "TOTALS DO NOT MATCH THE SEED")

    cases = [("quarterly, whole service (JSON)", "/reports/quarterly"),
             ("quarterly, province + 12 leagues (JSON)", "/reports/quarterly?region=15"),
             ("quarterly, Baotou + its banners (JSON)", "/reports/quarterly?region=150200"),
             ("quarterly, province (XLSX)", "/reports/quarterly?region=15&format=xlsx"),
             ("quarterly, province (CSV)", "/reports/quarterly?region=15&format=csv"),
             ("yearly, province (XLSX)", "/reports/yearly?region=15&format=xlsx")]
    print("| report | median | slowest | Redis commands per report |")
    print("| --- | --- | --- | --- |")
    for label, path in cases:
        before = commandstats(port)
        get(base, path, admin)
        after = commandstats(port)
        used = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
        used.pop("info", None)
        times = []
        for _ in range(reps):
            t = time.monotonic()
            get(base, path, admin)
            times.append(time.monotonic() - t)
        summary = ", ".join(f"{k} {v}" for k, v in sorted(used.items()))
        print(f"| {label} | {statistics.median(times) * 1000:.1f} ms | "
              f"{max(times) * 1000:.1f} ms | {sum(used.values())} ({summary}) |")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
