#!/usr/bin/env python3
"""Prepares a running jobcastd for the report benchmark: 10 verified employers,
ROOMS live rooms spread over the leagues and banners of Inner Mongolia (one
job card each), USERS jobseekers with profiles (8 of every 9 with a consented
key group). Writes targets.txt for seed.lua: the "ROOM/JOB" pairs on the first
line, then one jobseeker token per line.

usage: setup.py BASE_URL SECRET ROOMS USERS OUT_FILE
"""
import os, sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from jobcast_api import call, token  # noqa: E402

REGIONS = ["150102", "150103", "150104", "150105", "150121", "150122", "150202", "150203",
           "150204", "150207", "150221", "150222", "150302", "150303", "150402", "150421",
           "150502", "150521", "150602", "150603", "150621", "150622", "150627", "150702",
           "150721", "150802", "150821", "150902", "150921", "152201", "152202", "152501",
           "152502", "152921", "152922", "152923", "150100", "150200", "150600", "15"]
GROUPS = ["graduate", "poverty_alleviated", "rural_migrant_worker", "veteran",
          "registered_unemployed", "disability", "zero_employment_household",
          "employment_difficulty"]


def main():
    base, secret, rooms, users, out = (sys.argv[1], sys.argv[2], int(sys.argv[3]),
                                       int(sys.argv[4]), sys.argv[5])
    admin = token(secret, "admin", "bench-admin")
    for e in range(10):
        call(base, "POST", "/employers", admin, {"id": f"bench-co-{e}", "name": f"Bench Co {e}"})
        call(base, "POST", f"/employers/bench-co-{e}/verify", admin)

    def room(r):
        made = call(base, "POST", "/rooms", admin,
                    {"title": f"Fair {r}", "employer_id": f"bench-co-{r % 10}",
                     "region_code": REGIONS[r % len(REGIONS)], "scheduled_at": 0})
        card = {"title": f"Job {r}", "wage_min": 4000, "wage_max": 6000, "wage_unit": "month",
                "hours": "8h", "location": "Hohhot", "headcount": 1 + r % 5}
        job = call(base, "POST", f"/rooms/{made['id']}/jobs", admin, card)
        call(base, "POST", f"/rooms/{made['id']}/start", admin)
        return f"{made['id']}/{job['id']}"

    def seeker(u):
        t = token(secret, "jobseeker", f"bench-seeker-{u}")
        profile = {"name": f"Seeker {u}", "phone": "13800138000", "cv": "bench"}
        if u % 9 < 8:
            profile.update(key_group=GROUPS[u % 9], key_group_consent=True)
        call(base, "PUT", "/me/profile", t, profile)
        return t

    with ThreadPoolExecutor(8) as pool:
        pairs = list(pool.map(room, range(rooms)))
        tokens = list(pool.map(seeker, range(users)))
    with open(out, "w") as f:
        f.write(" ".join(pairs) + "\n" + "\n".join(tokens) + "\n")
    with open(out + ".rooms", "w") as f:
        f.write("\n".join(p.split("/")[0] for p in pairs) + "\n")


if __name__ == "__main__":
    main()
