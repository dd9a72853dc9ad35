#!/usr/bin/env python3
"""Crash run at scale: SIGKILL the server again and again while clients post
the generated batches, and prove that nothing acknowledged is lost and that
the lead index always agrees with the stored events.

    python3 bench/crash.py --bin PATH/leads-dashboard [--scale 0.1] [--kills 20] [--clients 3]
        [--seed 42] [--report [docs/benchmarks.md]] [--keep]

How:
- The server runs on a temp RocksDB folder; `--clients` threads post batches
  (keep-alive). A 2xx marks the batch acknowledged; anything else (or a broken
  connection) puts it back to be posted again after the restart (idempotent).
- Fresh batches are spread over the planned kill schedule so every kill lands
  during real writes; in between, clients re-post random acknowledged batches,
  each of which must answer `accepted: 0`.
- At seeded moments (2-15 s apart) the server gets SIGKILL. While it is down,
  `BIN verify --db rocksdb://DIR` must exit 0 with `mismatches: 0` and count at
  least as many events as there are distinct acknowledged event ids. Then the
  server starts again on the same folder.
- At the end every acknowledged batch is posted once more (each must answer
  `accepted: 0`), the server is stopped and verified a last time.
Exit status 0 only with no loss, no mismatch and no failed verify/start.
Standard library only.
"""
import argparse
import collections
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402
from common import (ROOT, Http, Server, batch_offsets, last_json_line, log, machine_info,  # noqa: E402
                    percentiles, read_at)

EST_RESTART_S = 3.0     # planning only: how long a kill + verify + start takes


class Fatal(Exception):
    pass


class Crash:
    def __init__(self, a):
        self.a = a
        self.tmp = tempfile.mkdtemp(prefix="leads-crash-", dir=a.tmp)
        self.rng = random.Random(a.seed * 31 + 7)
        self.lock = threading.Lock()
        self.server_up = threading.Event()
        self.stop_clients = threading.Event()
        self.kills_done = False
        self.problems = []          # anything that makes the run fail
        self.acked_ids = set()      # distinct event ids in acknowledged batches
        self.acked = []             # acknowledged batch indices, for replays
        self.failed_batches = set()
        self.counts = collections.Counter()
        self.verifies = []
        self.restarts = []
        self.server = None
        self.planned_s = 0.0
        self.t_start = time.perf_counter()

    def problem(self, text):
        self.problems.append(text)
        log("PROBLEM: " + text)

    # ---- data --------------------------------------------------------------------
    def generate(self):
        a = self.a
        self.events_path = os.path.join(self.tmp, "events.ndjson")
        log(f"generating scale {a.scale} (~{a.events_per_lead} events per lead, seed {a.seed})")
        t = time.perf_counter()
        self.stats = gen.write_batches(self.events_path, a.scale, a.events_per_lead, a.seed, a.end_day, a.batch)
        self.offsets = batch_offsets(self.events_path)
        self.fd = os.open(self.events_path, os.O_RDONLY)
        self.pending = collections.deque(range(len(self.offsets)))
        log(f"{self.stats['events']:,} distinct events ({self.stats['deliveries']:,} deliveries) in "
            f"{len(self.offsets)} batches, {self.stats['leads']:,} leads, {time.perf_counter() - t:.1f} s")

    # ---- clients -----------------------------------------------------------------
    def fresh_allowed(self, now):
        """Spread fresh batches over the planned schedule (all at once after the last kill)."""
        if self.kills_done or not self.planned_s:
            return True
        taken = len(self.offsets) - len(self.pending)
        return taken < len(self.offsets) * (now - self.t_start) / self.planned_s + self.a.clients

    def next_work(self, rng):
        with self.lock:
            if self.pending and self.fresh_allowed(time.perf_counter()):
                return "fresh", self.pending.popleft()
            if self.acked and not self.kills_done:
                return "replay", rng.choice(self.acked)
        return None

    def client(self, cid):
        http = Http(self.server.port, timeout=self.a.request_timeout)
        rng = random.Random(self.a.seed * 1000 + cid)
        while not self.stop_clients.is_set():
            if not self.server_up.wait(0.5):
                continue
            work = self.next_work(rng)
            if work is None:
                time.sleep(0.05)
                continue
            kind, i = work
            body = read_at(self.fd, *self.offsets[i])
            try:
                status, data, _ = http.request("POST", "/api/v1/events", body)
            except Exception:  # noqa: BLE001 (server killed mid-request: post again later)
                http.close()
                if kind == "fresh":
                    with self.lock:
                        self.pending.appendleft(i)
                        self.counts["retries"] += 1
                time.sleep(0.1)
                continue
            if 200 <= status < 300:
                try:
                    doc = json.loads(data)
                    acc, dup = int(doc["accepted"]), int(doc["duplicates"])
                except (ValueError, KeyError, TypeError):
                    self.problem(f"batch {i}: 2xx without accepted/duplicates: {data[:200]!r}")
                    continue
                if kind == "fresh":
                    ids = [e["id"] for e in json.loads(body)]
                    if acc + dup != len(ids):
                        self.problem(f"batch {i}: accepted {acc} + duplicates {dup} != {len(ids)} events")
                    with self.lock:
                        self.acked_ids.update(ids)
                        self.acked.append(i)
                        self.counts["acked_batches"] += 1
                else:
                    with self.lock:
                        self.counts["replays"] += 1
                        if acc:
                            self.counts["lost_in_replays"] += acc
                    if acc:
                        self.problem(f"replay of acknowledged batch {i} answered accepted: {acc} (events lost)")
            elif status >= 500 or status in (408, 429):
                if kind == "fresh":
                    with self.lock:
                        self.pending.appendleft(i)
                        self.counts["retries"] += 1
                time.sleep(0.2)
            else:
                self.problem(f"batch {i} answered {status}: {data[:300].decode('utf-8', 'replace')}")
                if kind == "fresh":
                    with self.lock:
                        self.failed_batches.add(i)
        http.close()

    # ---- server and verify -------------------------------------------------------
    def start(self):
        t = time.perf_counter()
        self.server.start()
        try:
            secs = self.server.wait_ready(self.a.start_timeout)
        except RuntimeError as e:
            raise Fatal(f"server did not start: {e}")
        self.restarts.append(secs)
        self.server_up.set()
        return time.perf_counter() - t

    def verify(self, acked_floor, label):
        """`BIN verify`: exit 0, no mismatch, at least `acked_floor` events."""
        t = time.perf_counter()
        try:
            out = subprocess.run([self.a.bin, "verify", "--db", self.db_url], capture_output=True, text=True,
                                 timeout=self.a.verify_timeout)
        except (OSError, subprocess.SubprocessError) as e:
            self.problem(f"verify ({label}) did not run: {e}")
            return None
        doc = last_json_line(out.stdout) or {}
        v = {"label": label, "exit": out.returncode, "seconds": round(time.perf_counter() - t, 2),
             "acked_distinct": acked_floor, **doc}
        self.verifies.append(v)
        if out.returncode != 0 or doc.get("mismatches") != 0:
            tail = (out.stdout + out.stderr).strip()[-800:]
            self.problem(f"verify ({label}) exit {out.returncode}, mismatches {doc.get('mismatches')}: {tail}")
        if not isinstance(doc.get("events"), int):
            self.problem(f"verify ({label}) printed no events count: {out.stdout.strip()[-300:]}")
        elif doc["events"] < acked_floor:
            self.problem(f"verify ({label}): {doc['events']} events stored, {acked_floor} distinct acknowledged "
                         f"(lost {acked_floor - doc['events']})")
        return v

    # ---- the run -----------------------------------------------------------------
    def run(self):
        a = self.a
        self.generate()
        self.db_url = "rocksdb://" + os.path.join(self.tmp, "db")
        self.server = Server(a.bin, self.db_url, os.path.join(self.tmp, "server.log"), a.server_arg)
        gaps = [self.rng.uniform(a.min_gap, a.max_gap) for _ in range(a.kills)]
        self.planned_s = sum(gaps) + EST_RESTART_S * a.kills
        self.start()
        log(f"server pid {self.server.pid} on port {self.server.port}; {a.kills} kills planned over "
            f"~{self.planned_s:.0f} s, {a.clients} clients")
        self.t_start = time.perf_counter()
        threads = [threading.Thread(target=self.client, args=(c,), daemon=True) for c in range(a.clients)]
        for th in threads:
            th.start()
        for k, gap in enumerate(gaps, 1):
            deadline = time.perf_counter() + gap
            while time.perf_counter() < deadline:
                if not self.server.alive():
                    break
                time.sleep(0.05)
            if not self.server.alive():
                self.problem(f"server exited on its own (code {self.server.proc.returncode}) before kill {k}\n"
                             f"{self.server.log_tail(20)}")
            self.server_up.clear()
            self.server.kill()
            with self.lock:
                acked_distinct = len(self.acked_ids)
                acked_batches = self.counts["acked_batches"]
            v = self.verify(acked_distinct, f"after kill {k}")
            down = self.start()
            log(f"kill {k}/{a.kills} after {gap:.1f} s: {acked_batches}/{len(self.offsets)} batches, "
                f"{acked_distinct:,} distinct events acknowledged; verify {json.dumps(v and {x: v.get(x) for x in ('contacts', 'leads', 'events', 'mismatches')})} "
                f"in {v and v['seconds']} s; serving again {down:.1f} s after the restart")
        self.kills_done = True
        log("kills done; posting what is left")
        deadline = time.perf_counter() + a.finish_timeout
        while True:
            with self.lock:
                left = len(self.offsets) - self.counts["acked_batches"] - len(self.failed_batches)
            if left <= 0:
                break
            if not self.server.alive():
                raise Fatal(f"server exited while posting the rest\n{self.server.log_tail()}")
            if time.perf_counter() > deadline:
                raise Fatal(f"{left} batches still unacknowledged after {a.finish_timeout:.0f} s")
            time.sleep(0.2)
        self.stop_clients.set()
        for th in threads:
            th.join(a.request_timeout + 5)
        self.repost_all()
        note = self.server.stop(60)
        if note:
            self.problem("final stop: " + note)
        self.server_up.clear()
        final = self.verify(len(self.acked_ids), "final")
        if final and isinstance(final.get("events"), int) and not self.failed_batches \
                and final["events"] != self.stats["events"]:
            self.problem(f"final verify counts {final['events']} events; {self.stats['events']} distinct were sent "
                         "and all acknowledged")

    def repost_all(self):
        """Every acknowledged batch once more: each must answer accepted: 0."""
        log(f"re-posting {len(self.acked)} acknowledged batches")
        todo = collections.deque(sorted(self.acked))
        lock = threading.Lock()

        def worker():
            http = Http(self.server.port, timeout=self.a.request_timeout)
            while True:
                with lock:
                    if not todo:
                        break
                    i = todo.popleft()
                body = read_at(self.fd, *self.offsets[i])
                try:
                    status, data, _ = http.request("POST", "/api/v1/events", body)
                    doc = json.loads(data) if 200 <= status < 300 else None
                except Exception as e:  # noqa: BLE001
                    self.problem(f"re-post of batch {i} failed: {e!r}")
                    continue
                if doc is None:
                    self.problem(f"re-post of batch {i} answered {status}: {data[:300]!r}")
                    continue
                with lock:
                    self.counts["reposted"] += 1
                    self.counts["lost_in_repost"] += int(doc.get("accepted", 0))
                if doc.get("accepted"):
                    self.problem(f"re-post of acknowledged batch {i}: accepted {doc['accepted']} (events lost)")
            http.close()
        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.a.clients)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()

    def cleanup(self):
        if self.server is not None and self.server.alive():
            self.server.stop(10)
        if getattr(self, "fd", None) is not None:
            os.close(self.fd)
        if self.a.keep:
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def result(self, fatal=None):
        mism = sum(v.get("mismatches") or 0 for v in self.verifies if isinstance(v.get("mismatches"), int))
        lost_verify = max([v["acked_distinct"] - v["events"] for v in self.verifies
                           if isinstance(v.get("events"), int)] + [0])
        final = self.verifies[-1] if self.verifies and self.verifies[-1]["label"] == "final" else None
        return {
            "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine_info(self.a.bin), "scale": self.a.scale, "clients": self.a.clients,
            "kills_planned": self.a.kills, "gap_s": [self.a.min_gap, self.a.max_gap], "seed": self.a.seed,
            "kills": sum(1 for v in self.verifies if v["label"].startswith("after kill")),
            "batches": len(getattr(self, "offsets", [])), "acked_batches": self.counts["acked_batches"],
            "events_generated": getattr(self, "stats", {}).get("events"),
            "events_acknowledged": len(self.acked_ids), "retries": self.counts["retries"],
            "replays_checked": self.counts["replays"], "reposted": self.counts["reposted"],
            # Two views of the same loss (re-posts accepted again / verify counted fewer): the larger.
            "events_lost": max(self.counts["lost_in_replays"] + self.counts["lost_in_repost"], lost_verify),
            "lost_seen_by_reposts": self.counts["lost_in_replays"] + self.counts["lost_in_repost"],
            "lost_seen_by_verify": lost_verify,
            "mismatches": mism, "verify_runs": len(self.verifies),
            "verify_failures": sum(1 for v in self.verifies if v.get("exit") != 0),
            "verify_seconds": percentiles([v["seconds"] for v in self.verifies]),
            "restart_ready_ms": percentiles(self.restarts[1:]),
            "final_verify": final, "problems": self.problems, "fatal": fatal,
            "ok": not self.problems and fatal is None}


def markdown(r):
    m = r["machine"]
    rs, vs = r["restart_ready_ms"] or {}, r["verify_seconds"] or {}
    fv = r["final_verify"] or {}
    lines = [
        "", f"## Crash run ({r['when']})", "",
        f"`bench/crash.py`: scale {r['scale']}, {r['clients']} clients, SIGKILL at seeded moments "
        f"{r['gap_s'][0]:g}–{r['gap_s'][1]:g} s apart; "
        f"{m.get('nproc')} CPUs ({m.get('cpu', '?')}), binary {m.get('binary')}, commit {m.get('commit')}.", "",
        "| figure | value |", "|---|---|",
        f"| kills | {r['kills']} of {r['kills_planned']} planned |",
        f"| batches acknowledged | {r['acked_batches']} of {r['batches']} ({r['retries']} posted again after a kill) |",
        f"| distinct events acknowledged | {r['events_acknowledged']:,} of {r['events_generated'] or 0:,} |",
        f"| acknowledged batches re-posted (must answer accepted: 0) | {r['replays_checked']} during the run, "
        f"{r['reposted']} at the end |",
        f"| **events lost** | **{r['events_lost']}** |",
        f"| verify runs / failures | {r['verify_runs']} / {r['verify_failures']} |",
        f"| **index mismatches** | **{r['mismatches']}** |",
        f"| final verify | {fv.get('contacts')} contacts, {fv.get('leads')} leads, {fv.get('events')} events |",
        f"| restart until /healthz 200 (p50 / max) | {rs.get('p50', 0) / 1000:.2f} s / {rs.get('max', 0) / 1000:.2f} s |",
        f"| verify time (p50 / max) | {vs.get('p50', 0) / 1000:.2f} s / {vs.get('max', 0) / 1000:.2f} s |",
        "", "Result: " + ("**pass** — nothing acknowledged was lost and the index agreed every time."
                          if r["ok"] else "**FAIL**"), ""]
    if r["fatal"]:
        lines += ["```", str(r["fatal"])[-2000:], "```", ""]
    for p in r["problems"][:20]:
        lines.append(f"- {p.splitlines()[0]}")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--clients", type=int, default=3)
    ap.add_argument("--events-per-lead", type=float, default=3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--end-day", default="2026-11-26")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--min-gap", type=float, default=2.0)
    ap.add_argument("--max-gap", type=float, default=15.0)
    ap.add_argument("--report", nargs="?", const=os.path.join(ROOT, "docs", "benchmarks.md"),
                    help="append a section to this Markdown file (default docs/benchmarks.md)")
    ap.add_argument("--out-json", help="also write the figures as JSON")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--tmp")
    ap.add_argument("--start-timeout", type=float, default=300)
    ap.add_argument("--verify-timeout", type=float, default=1800)
    ap.add_argument("--request-timeout", type=float, default=120)
    ap.add_argument("--finish-timeout", type=float, default=1800)
    ap.add_argument("--server-arg", action="append", default=[])
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)
    if not (os.path.isfile(a.bin) and os.access(a.bin, os.X_OK)):
        print(f"error: {a.bin} is not an executable file", file=sys.stderr)
        return 2
    c = Crash(a)
    fatal = None
    try:
        c.run()
    except Fatal as e:
        fatal = str(e)
        log(f"FATAL: {e}")
    except KeyboardInterrupt:
        fatal = "interrupted"
    finally:
        c.stop_clients.set()
        c.server_up.set()       # let waiting clients see the stop flag
        c.cleanup()
    r = c.result(fatal)
    log(f"kills {r['kills']}, acknowledged {r['events_acknowledged']:,} events, lost {r['events_lost']}, "
        f"mismatches {r['mismatches']}, verify failures {r['verify_failures']}: {'OK' if r['ok'] else 'FAILED'}")
    if a.out_json:
        with open(a.out_json, "w", encoding="utf-8") as f:
            json.dump(r, f, indent=1)
    if a.report:
        os.makedirs(os.path.dirname(os.path.abspath(a.report)), exist_ok=True)
        with open(a.report, "a", encoding="utf-8") as f:
            f.write(markdown(r))
        log(f"appended to {a.report}")
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
