#!/usr/bin/env python3
"""Prepares a running jobcastd for the apply benchmark: a verified employer, a
live room with JOBS job cards, USERS jobseekers with profiles. Writes
targets.txt: one line per jobseeker token, preceded by the room id and job ids.

usage: setup.py BASE_URL SECRET USERS JOBS OUT_FILE
"""
import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from jobcast_api import call, token  # noqa: E402


def main():
    base, secret, users, jobs, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    admin = token(secret, "admin", "bench-admin")
    call(base, "POST", "/employers", admin, {"id": "bench-co", "name": "Bench Co"})
    call(base, "POST", "/employers/bench-co/verify", admin)
    room = call(base, "POST", "/rooms", admin, {"title": "Bench fair", "employer_id": "bench-co",
                                                 "region_code": "150100", "scheduled_at": 0})
    job_ids = []
    for j in range(jobs):
        card = {"title": f"Job {j}", "wage_min": 4000, "wage_max": 6000, "wage_unit": "month",
                "hours": "8h", "location": "Hohhot", "headcount": 10}
        job_ids.append(call(base, "POST", f"/rooms/{room['id']}/jobs", admin, card)["id"])
    call(base, "POST", f"/rooms/{room['id']}/start", admin)
    tokens = []
    for u in range(users):
        t = token(secret, "jobseeker", f"bench-seeker-{u}")
        call(base, "PUT", "/me/profile", t, {"name": f"Seeker {u}", "phone": "13800138000",
                                             "cv": "bench"})
        tokens.append(t)
    with open(out, "w") as f:
        f.write(room["id"] + "\n" + " ".join(job_ids) + "\n" + "\n".join(tokens) + "\n")


if __name__ == "__main__":
    main()
