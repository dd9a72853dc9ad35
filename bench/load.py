#!/usr/bin/env python3
"""Small benchmark: posts N leads (an inbound message each, an answer for
most, a second inbound for some) to a running leads-dashboard, then times a
few reads and reports the server's memory.

    python3 bench/load.py --url http://127.0.0.1:3000 --token T --leads 100000 [--pid PID]

Standard library only. Timing goals belong here, not in the tests.
"""
import argparse, json, random, statistics, time, urllib.request, urllib.parse
from concurrent.futures import ThreadPoolExecutor


def post(url, token, body):
    req = urllib.request.Request(url + "/api/v1/events", data=body, method="POST",
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=300) as r:
        return json.loads(r.read())


def get(url, token, path):
    req = urllib.request.Request(url + path, headers={"Authorization": "Bearer " + token})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=300) as r:
        body = json.loads(r.read())
    return time.perf_counter() - t, body


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None


def events_for(i, rng):
    day = 1 + i % 28
    base = f"2026-10-{day:02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}+07:00"
    phone = f"+62813{i:08d}"
    evs = [{"id": f"bench-{i}-in", "occurred_at": base, "channel": "whatsapp", "direction": "inbound",
            "contact": {"phone": phone, "name": f"Pelanggan {i}", "email": f"p{i}@contoh.id"},
            "source": {"platform": "meta", "type": "ad", "id": f"ad-{i % 40}", "name": f"Iklan {i % 40}"}}]
    if i % 5:
        evs.append({"id": f"bench-{i}-out", "occurred_at": base.replace("+07:00", "+06:59"),
                    "channel": "whatsapp", "direction": "outbound", "sender": "agent",
                    "contact": {"phone": phone}})
    return evs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:3000")
    ap.add_argument("--token", default="local-dev-token")
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--pid", type=int)
    a = ap.parse_args()
    rng = random.Random(7)
    events = [e for i in range(a.leads) for e in events_for(i, rng)]
    batches = [json.dumps(events[i:i + a.batch]).encode() for i in range(0, len(events), a.batch)]
    t = time.perf_counter()
    with ThreadPoolExecutor(a.clients) as ex:
        results = list(ex.map(lambda b: post(a.url, a.token, b), batches))
    dt = time.perf_counter() - t
    accepted = sum(r["accepted"] for r in results)
    print(f"ingest: {accepted} events ({a.leads} leads) in {dt:.1f} s = {accepted / dt:.0f} events/s "
          f"(batches of {a.batch}, {a.clients} clients)")
    if a.pid:
        print(f"server RSS after ingest: {rss_mb(a.pid):.0f} MB")
    for name, path in [
        ("first page, 7 days", "/api/v1/leads?from=2026-10-01&to=2026-10-07"),
        ("first page, 28 days", "/api/v1/leads?from=2026-10-01&to=2026-10-28"),
        ("search name, 28 days", "/api/v1/leads?from=2026-10-01&to=2026-10-28&q=pelanggan%20123"),
        ("search phone, 28 days", "/api/v1/leads?from=2026-10-01&to=2026-10-28&q=0813000123"),
    ]:
        times = []
        for _ in range(10):
            dt, body = get(a.url, a.token, path)
            times.append(dt * 1000)
        times.sort()
        print(f"{name}: p50 {statistics.median(times):.1f} ms, max {times[-1]:.1f} ms, total={body['total']}")
    if a.pid:
        print(f"server RSS after reads: {rss_mb(a.pid):.0f} MB")


if __name__ == "__main__":
    main()
