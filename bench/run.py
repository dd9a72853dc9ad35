#!/usr/bin/env python3
"""Benchmark driver: generates traffic, measures the ingest floor, ingests
through the HTTP API, times the read paths, restarts, and writes the report.

    python3 bench/run.py --bin PATH/leads-dashboard [--scale 1.0] [--events-per-lead 3]
        [--clients 2] [--out-md docs/benchmarks.md] [--out-json bench/results.json]
        [--smoke] [--keep] [--reps 200] [--server-arg=--flag ...]

Needs from the binary: `floor FILE` (optional: reported as missing when it
fails), `serve` whose /healthz answers 200 once the lead index is ready,
GET /api/v1/stats (optional), GET /api/v1/ads, and `import FILE` of a Meta
Ads Manager CSV (the year's spend, imported while the server is stopped for
the restart). Purchases (~20% of leads) are sent after the events. Exit status: 0 when the report was written and
every request answered 2xx, 1 when a request failed, 2 when the server did
not start or the run broke off. `--smoke` (scale 0.01 unless given) writes
both files without judging targets. Standard library only.
"""
import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402
from common import (ROOT, Http, Server, batch_offsets, dir_usage, last_json_line, log,  # noqa: E402
                    machine_info, memory_cgroup, cgroup_oom_kills, cgroup_peak, mib, percentiles,
                    proc_status, read_at)

SORTS = ["-date", "date", "-first_touched_at", "first_touched_at", "name", "-name"]
FLAT_MEMORY_BYTES = 50 * 2**20      # CSV export: RSS may move this much and still count as flat


class Fatal(Exception):
    """The run cannot go on (server did not start, died, …)."""


class Run:
    def __init__(self, a):
        self.a = a
        self.failures = []      # every non-2xx or broken request: (what, status, body excerpt)
        self.res = {"version": 1, "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    "smoke": a.smoke, "scale": a.scale, "events_per_lead": a.events_per_lead,
                    "clients": a.clients, "reps": a.reps, "warmup": a.warmup, "end_day": a.end_day,
                    "seed": a.seed, "machine": machine_info(a.bin), "notes": []}
        self.tmp = tempfile.mkdtemp(prefix="leads-bench-", dir=a.tmp)
        self.server = None

    def fail(self, what, status, body):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        self.failures.append({"what": what, "status": status, "body": text[:1000]})
        if len(self.failures) <= 20:
            log(f"FAILED {what}: {status} {text[:500]}")

    def note(self, text):
        self.res["notes"].append(text)
        log("note: " + text)

    # ---- 1. traffic ----------------------------------------------------------
    def generate(self):
        a = self.a
        self.events_path = os.path.join(self.tmp, "events.ndjson")
        log(f"generating {gen.CONTACTS_AT_SCALE_1 * a.scale:,.0f} contacts x ~{a.events_per_lead} events "
            f"(seed {a.seed}, 365 days to {a.end_day}) -> {self.events_path}")
        t = time.perf_counter()
        self.conversions_path = os.path.join(self.tmp, "conversions.ndjson")
        self.stats = gen.write_batches(self.events_path, a.scale, a.events_per_lead, a.seed, a.end_day, 1000,
                                       conversions_path=self.conversions_path)
        self.stats["seconds"] = round(time.perf_counter() - t, 2)
        self.offsets = batch_offsets(self.events_path)
        self.conversion_offsets = batch_offsets(self.conversions_path)
        # A year of daily spend for the ads, as Meta Ads Manager exports it.
        self.spend_path = os.path.join(self.tmp, "ads-manager-export.csv")
        self.spend = gen.write_spend_csv(self.spend_path, a.scale, a.seed, a.end_day)
        self.res["generated"] = self.stats
        self.res["generated_spend"] = {k: v for k, v in self.spend.items() if k != "by_day_minor"}
        log(gen.summary_text(self.stats).replace("\n", "\n    "))
        log(f"spend: {self.spend['rows']:,} rows for {self.spend['ads']} Meta ads "
            f"({self.spend['ads_with_leads']} of them named by leads), Rp {self.spend['total_minor'] / 100:,.2f}")
        log(f"generated in {self.stats['seconds']} s ({os.path.getsize(self.events_path) / 2**20:.0f} MiB)")

    # ---- 2. floor ------------------------------------------------------------
    def floor(self):
        log("floor: parse + one fsync per batch, no database")
        try:
            out = subprocess.run([self.a.bin, "floor", self.events_path], capture_output=True, text=True,
                                 timeout=self.a.step_timeout)
            doc = last_json_line(out.stdout)
            if out.returncode != 0 or not doc or "events_per_s" not in doc:
                raise RuntimeError(f"exit {out.returncode}: {(out.stdout + out.stderr).strip()[-500:]}")
            self.res["floor"] = doc
            log(f"floor: {doc['events_per_s']:,.0f} events/s ({doc.get('events')} events, {doc.get('seconds')} s)")
        except (OSError, subprocess.SubprocessError, RuntimeError) as e:
            self.res["floor"] = None
            self.note(f"floor missing: `{os.path.basename(self.a.bin)} floor` failed ({str(e)[:300]})")

    # ---- 3. server -------------------------------------------------------------
    def start_server(self):
        self.db_dir = os.path.join(self.tmp, "db")
        self.server = Server(self.a.bin, "rocksdb://" + self.db_dir, os.path.join(self.tmp, "server.log"),
                             self.a.server_arg)
        if self.a.memory_mib:
            self.limit_run()
        self.server.start()
        try:
            secs = self.server.wait_ready(self.a.start_timeout)
        except RuntimeError as e:
            raise Fatal(f"server did not start: {e}")
        log(f"server pid {self.server.pid} on port {self.server.port}, ready in {secs:.2f} s")
        self.res["first_start_s"] = round(secs, 3)

    def server_stats(self, http):
        """GET /api/v1/stats; None when the route is missing (reported, not a failure)."""
        try:
            status, doc, body, _ = http.get_json("/api/v1/stats")
        except OSError as e:
            return {"error": repr(e)}
        if status != 200 or not isinstance(doc, dict):
            return {"error": f"HTTP {status}: {body[:200].decode('utf-8', 'replace')}"}
        return doc

    # ---- 4. ingest -------------------------------------------------------------
    def ingest(self):
        a, n = self.a, len(self.offsets)
        fd = os.open(self.events_path, os.O_RDONLY)
        lock = threading.Lock()
        state = {"next": 0, "done": 0, "accepted": 0, "duplicates": 0, "reconnects": 0}
        latencies = []

        def client():
            http = Http(self.server.port, timeout=a.request_timeout)
            while True:
                with lock:
                    i = state["next"]
                    state["next"] += 1
                if i >= n:
                    break
                body = read_at(fd, *self.offsets[i])
                try:
                    status, data, secs = http.request("POST", "/api/v1/events", body)
                except Exception as e:  # noqa: BLE001 (any broken request is a failure to report)
                    self.fail(f"POST batch {i}", None, repr(e))
                    status = None
                if status is not None:
                    if 200 <= status < 300:
                        try:
                            doc = json.loads(data)
                            acc, dup = int(doc["accepted"]), int(doc["duplicates"])
                        except (ValueError, KeyError, TypeError):
                            self.fail(f"POST batch {i} (answer)", status, data)
                            acc = dup = 0
                        latencies.append(secs)
                        with lock:
                            state["accepted"] += acc
                            state["duplicates"] += dup
                    else:
                        self.fail(f"POST batch {i}", status, data)
                with lock:
                    state["done"] += 1
            with lock:
                state["reconnects"] += http.reconnects
            http.close()

        log(f"ingest: {n} batches, {self.stats['deliveries']:,} events, {a.clients} clients")
        threads = [threading.Thread(target=client, daemon=True) for _ in range(a.clients)]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        next_report, at_10 = 1, None
        probe = Http(self.server.port, timeout=30)
        while any(th.is_alive() for th in threads):
            time.sleep(0.2)
            if not self.server.alive():
                raise Fatal(f"server exited during ingest (code {self.server.proc.returncode})\n"
                            f"{self.server.log_tail()}")
            done = state["done"]
            if at_10 is None and done >= max(1, n // 10):
                # RSS with ~10% of the data in (100k leads at scale 1).
                rss = proc_status(self.server.pid)
                st = self.server_stats(probe)
                at_10 = {"batches": done, "rss_bytes": rss, "leads": st.get("leads"), "stats": st}
                log(f"  RSS at {done} batches ({st.get('leads')} leads): {mib(rss)} MiB")
            tenth = done * 10 // n
            if tenth >= next_report:
                el = time.perf_counter() - t0
                sent = state["accepted"] + state["duplicates"]
                log(f"  ingest {tenth * 10}%: {done}/{n} batches, {sent:,} events, "
                    f"{sent / max(el, 1e-9):,.0f} events/s")
                next_report = tenth + 1
        wall = time.perf_counter() - t0
        os.close(fd)
        sent = state["accepted"] + state["duplicates"]
        rate = sent / wall if wall else 0.0
        floor = (self.res.get("floor") or {}).get("events_per_s")
        ing = {"batches": n, "seconds": round(wall, 3), "accepted": state["accepted"],
               "duplicates": state["duplicates"], "events_per_s": round(rate, 1),
               "expected_deliveries": self.stats["deliveries"], "expected_distinct": self.stats["events"],
               "expected_duplicates": self.stats["duplicates"],
               "failed_batches": sum(1 for f in self.failures if f["what"].startswith("POST")),
               "reconnects": state["reconnects"], "batch_ms": percentiles(latencies),
               "ratio_to_floor": round(rate / floor, 3) if floor else None, "at_10_percent": at_10}
        self.res["ingest"] = ing
        log(f"ingest: {sent:,} events in {wall:.1f} s = {rate:,.0f} events/s"
            + (f" ({ing['ratio_to_floor']:.0%} of the floor)" if floor else "")
            + f"; batch p50/p95/p99 {ing['batch_ms'] and ing['batch_ms']['p50']}/"
              f"{ing['batch_ms'] and ing['batch_ms']['p95']}/{ing['batch_ms'] and ing['batch_ms']['p99']} ms")
        if sent != self.stats["deliveries"]:
            self.note(f"accepted + duplicates = {sent:,}, but {self.stats['deliveries']:,} events were sent")
        if state["accepted"] != self.stats["events"] and not ing["failed_batches"]:
            self.note(f"accepted {state['accepted']:,} events, but {self.stats['events']:,} distinct ids were sent")

    # ---- 4b. conversions -------------------------------------------------------
    def ingest_conversions(self):
        """The purchases through POST /api/v1/events after the leads are in
        (as an order system sends them), by the same number of clients."""
        a, n = self.a, len(self.conversion_offsets)
        fd = os.open(self.conversions_path, os.O_RDONLY)
        lock = threading.Lock()
        state = {"next": 0, "accepted": 0, "duplicates": 0, "failed": 0}
        latencies = []

        def client():
            http = Http(self.server.port, timeout=a.request_timeout)
            while True:
                with lock:
                    i = state["next"]
                    state["next"] += 1
                if i >= n:
                    break
                status, data = None, b""
                try:
                    status, data, secs = http.request("POST", "/api/v1/events", read_at(fd, *self.conversion_offsets[i]))
                    if not 200 <= status < 300:
                        raise ValueError("not 2xx")
                    doc = json.loads(data)
                    acc, dup = int(doc["accepted"]), int(doc["duplicates"])
                except Exception as e:  # noqa: BLE001 (any broken request is a failure to report)
                    self.fail(f"POST conversions batch {i}", status, data or repr(e))
                    with lock:
                        state["failed"] += 1
                    continue
                latencies.append(secs)
                with lock:
                    state["accepted"] += acc
                    state["duplicates"] += dup
            http.close()

        log(f"conversions: {n} batches, {self.stats['conversions']:,} purchases, {a.clients} clients")
        threads = [threading.Thread(target=client, daemon=True) for _ in range(a.clients)]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t0
        os.close(fd)
        sent = state["accepted"] + state["duplicates"]
        out = {"batches": n, "seconds": round(wall, 3), "accepted": state["accepted"],
               "duplicates": state["duplicates"], "expected": self.stats["conversions"],
               "events_per_s": round(sent / wall, 1) if wall else 0.0, "failed_batches": state["failed"],
               "batch_ms": percentiles(latencies)}
        self.res["conversions"] = out
        log(f"conversions: {sent:,} in {wall:.2f} s = {out['events_per_s']:,.0f} events/s; batch p50/p95 "
            f"{out['batch_ms'] and out['batch_ms']['p50']}/{out['batch_ms'] and out['batch_ms']['p95']} ms")
        if state["accepted"] != self.stats["conversions"]:
            self.note(f"conversions: accepted {state['accepted']:,}, {self.stats['conversions']:,} were sent")

    # ---- 5. after ingest ---------------------------------------------------------
    def after_ingest(self, http):
        st = self.server_stats(http)
        rss = proc_status(self.server.pid)
        alloc, apparent = dir_usage(self.db_dir)
        leads = st.get("leads") if isinstance(st.get("leads"), int) else self.stats["leads"]
        self.res["after_ingest"] = {
            "stats": st, "rss_bytes": rss, "rss_peak_bytes": proc_status(self.server.pid, "VmHWM"),
            "disk_bytes": alloc, "disk_apparent_bytes": apparent,
            "disk_bytes_per_lead": round(alloc / leads, 1) if leads else None,
            "index_bytes_per_lead": index_bytes_per_lead(st)}
        log("stats: " + json.dumps(st))
        log(f"RSS {mib(rss)} MiB, db on disk {mib(alloc)} MiB = "
            f"{self.res['after_ingest']['disk_bytes_per_lead']} bytes per lead")
        if st.get("leads") is not None and st.get("leads") != self.stats["leads"]:
            self.note(f"/api/v1/stats says {st.get('leads')} leads, the generator made {self.stats['leads']}")

    # ---- 6. reads -------------------------------------------------------------------
    def timed(self, http, label, path, expected=None, auth=True, extra=None, total_of=None):
        """Warm up, then time `reps` requests of one path on a keep-alive connection.
        `total_of(doc)` reads the count compared with `expected` (default: `total`)."""
        samples, doc, ok = [], None, True
        for k in range(self.a.warmup + self.a.reps):
            try:
                status, data, secs = http.request("GET", path, auth=auth)
            except Exception as e:  # noqa: BLE001
                self.fail(f"GET {path}", None, repr(e))
                ok = False
                break
            if not 200 <= status < 300:
                self.fail(f"GET {path}", status, data)
                ok = False
                break
            if k >= self.a.warmup:
                samples.append(secs)
            if k == 0:
                try:
                    doc = json.loads(data)
                except ValueError:
                    doc = None
        if not isinstance(doc, dict):
            total = None
        elif total_of:
            total = total_of(doc)
        else:
            total = doc.get("total")
        r = {"label": label, "path": path, "ms": percentiles(samples), "total": total, "expected": expected,
             "ok": ok}
        if total_of:
            r["doc"] = doc          # the caller checks more of it
        if extra:
            r.update(extra)
        ms = r["ms"] or {}
        log(f"  {label}: p50 {ms.get('p50')} p95 {ms.get('p95')} p99 {ms.get('p99')} ms, total {total}"
            + (f" (expected {expected})" if expected is not None else ""))
        if expected is not None and total is not None and total != expected:
            self.note(f"{label}: total {total}, expected {expected} from the generated data")
        return r

    def page_path(self, http, base, page=100):
        """The path of page `page` by following next_cursor (untimed); the last page when there are fewer."""
        path, n = base, 1
        while n < page:
            status, doc, body, _ = http.get_json(path)
            if status != 200 or not isinstance(doc, dict):
                self.fail(f"GET {path}", status, body)
                return path, n, False
            cursor = doc.get("next_cursor")
            if not cursor:
                break
            path, n = f"{base}&cursor={urllib.parse.quote(str(cursor), safe='')}", n + 1
        return path, n, True

    def reads(self, http):
        s, a = self.stats, self.a
        end = dt.date.fromisoformat(a.end_day)
        day = lambda k: (end - dt.timedelta(days=k)).isoformat()  # noqa: E731
        year = f"from={day(364)}&to={day(0)}"
        reads = {}
        log(f"reads: {a.reps} timed after {a.warmup} warm-up, keep-alive")
        reads["healthz"] = self.timed(http, "GET /healthz", "/healthz", auth=False)
        reads["first_page_7d"] = self.timed(http, "first page, 7 days, newest first",
                                            f"/api/v1/leads?from={day(6)}&to={day(0)}",
                                            sum(s["leads_by_day"][-7:]))
        page100 = []
        queries = [(f"sort={q}", s["leads"]) for q in SORTS] + [
            ("touched=yes", s["touched"]), ("touched=no", s["untouched"]),
            ("channel=instagram", s["leads_by_channel"]["instagram"]),
            ("source=meta", s["by_first_platform"].get("meta", 0)),
            (f"source={s['top_ad']['id']}", s["top_ad_leads"])]
        for q, expected in queries:
            path, n, ok = self.page_path(http, f"/api/v1/leads?{year}&{q}")
            if not ok:
                continue
            label = f"page {n} of {q}, 365 days" + ("" if n == 100 else " (last page: fewer than 100)")
            if n != 100:
                self.note(f"{q}: only {n} pages, timed the last one")
            page100.append(self.timed(http, label, path, expected, extra={"query": q, "page": n}))
        reads["page100"] = page100
        searches = []
        for label, item in (s.get("search") or {}).items():
            q = urllib.parse.quote(item["q"], safe="")
            searches.append(self.timed(http, f"search {label}: q={item['q']!r}, 365 days",
                                       f"/api/v1/leads?{year}&q={q}", item["expected"],
                                       extra={"q": item["q"], "kind": label}))
        reads["search"] = searches
        reads["summary_30d"] = self.timed(http, "summary, 30 days", f"/api/v1/leads/summary?from={day(29)}&to={day(0)}",
                                          sum(s["leads_by_day"][-30:]))
        reads["summary_365d"] = self.timed(http, "summary, 365 days", f"/api/v1/leads/summary?{year}", s["leads"])
        reads["csv"] = self.csv(http, f"/api/v1/leads.csv?{year}")
        self.res["reads"] = reads

    def reads_ads(self, http):
        """GET /api/v1/ads (spend, leads, quality, buyers): its totals checked
        against the generated purchases and spend."""
        s, a, sp = self.stats, self.a, self.spend
        end = dt.date.fromisoformat(a.end_day)
        day = lambda k: (end - dt.timedelta(days=k)).isoformat()  # noqa: E731
        leads_of = lambda doc: (doc.get("total") or {}).get("leads")  # noqa: E731
        reads = {}
        log("ads report:")
        for key, label, days, q in (("ads_30d", "ads report, 30 days", 30, ""),
                                    ("ads_365d", "ads report, 365 days", 365, ""),
                                    ("ads_365d_event_date", "ads report, 365 days, by purchase date", 365,
                                     "&count_by=event_date")):
            r = self.timed(http, label, f"/api/v1/ads?from={day(days - 1)}&to={day(0)}{q}",
                           sum(s["leads_by_day"][-days:]), total_of=leads_of)
            doc = r.pop("doc", None) or {}
            total = doc.get("total") or {}
            # By purchase date every purchase of the year falls in it (none is
            # made after the last day); by lead date, those of the range's leads.
            want = {"buyers": s["conversions"] if q else sum(s["buyers_by_day"][-days:]),
                    "revenue": (s["revenue_minor"] if q else sum(s["revenue_by_day"][-days:])) / 100,
                    "spend": sum(sp["by_day_minor"][-days:]) / 100}
            got = {k: total.get(k) for k in want}
            r["figures"] = {"got": got, "expected": want, "rows": len(doc.get("rows") or [])}
            for k, v in want.items():
                if not isinstance(got[k], (int, float)) or round(got[k] * 100) != round(v * 100):
                    self.note(f"{label}: total {k} {got[k]}, expected {v} from the generated data")
            reads[key] = r
        self.res.setdefault("reads", {}).update(reads)

    def csv(self, http, path):
        """Stream the export, count rows, sample the server's RSS every 100 ms."""
        runs, rss, stop = [], [], threading.Event()

        def sampler():
            while not stop.is_set():
                v = proc_status(self.server.pid)
                if v:
                    rss.append(v)
                stop.wait(0.1)
        th = threading.Thread(target=sampler, daemon=True)
        th.start()
        try:
            for _ in range(self.a.csv_runs):
                count = {"nl": 0, "last": b"\n", "bytes": 0}

                def sink(chunk):
                    count["nl"] += chunk.count(b"\n")
                    count["bytes"] += len(chunk)
                    count["last"] = chunk[-1:]
                try:
                    status, data, secs = http.request("GET", path, stream=sink)
                except Exception as e:  # noqa: BLE001
                    self.fail(f"GET {path}", None, repr(e))
                    break
                if not 200 <= status < 300:
                    self.fail(f"GET {path}", status, data)
                    break
                lines = count["nl"] + (0 if count["last"] == b"\n" or not count["bytes"] else 1)
                rows = max(0, lines - 1)        # minus the header
                runs.append({"rows": rows, "seconds": round(secs, 3), "bytes": count["bytes"],
                             "rows_per_s": round(rows / secs, 1) if secs else None})
        finally:
            stop.set()
            th.join()
        best = max(runs, key=lambda r: r["rows_per_s"] or 0) if runs else None
        rates = sorted(r["rows_per_s"] or 0 for r in runs)
        out = {"path": path, "runs": runs, "rows": best and best["rows"], "expected": self.stats["leads"],
               "rows_per_s_median": rates[len(rates) // 2] if rates else None,
               "rss_min_bytes": min(rss) if rss else None, "rss_max_bytes": max(rss) if rss else None,
               "rss_samples": len(rss)}
        out["flat"] = (out["rss_max_bytes"] - out["rss_min_bytes"] <= FLAT_MEMORY_BYTES) if rss else None
        log(f"  CSV export: {out['rows']} rows, {out['rows_per_s_median']} rows/s (median of {len(runs)}), "
            f"RSS {mib(out['rss_min_bytes'])}..{mib(out['rss_max_bytes'])} MiB")
        if runs and out["rows"] != self.stats["leads"]:
            self.note(f"CSV export: {out['rows']} rows, expected {self.stats['leads']} leads")
        return out

    # ---- 7. restart -------------------------------------------------------------------
    def restart(self):
        log("restart: SIGTERM, import the year's spend (the embedded database has one process at a time), "
            "then time from spawn to /healthz 200")
        note = self.server.stop(self.a.stop_timeout)
        if note:
            self.note("stop: " + note)
        self.import_spend()
        self.server.start()
        try:
            secs = self.server.wait_ready(self.a.start_timeout)
        except RuntimeError as e:
            raise Fatal(f"server did not restart: {e}")
        rss = proc_status(self.server.pid)
        lines = self.server.log_grep("lead index")
        http = Http(self.server.port, timeout=60)
        st = self.server_stats(http)
        http.close()
        self.res["restart"] = {"seconds": round(secs, 3), "rss_bytes": rss, "log": lines[-3:], "stats": st,
                               "stop_note": note}
        log(f"restart: ready in {secs:.2f} s, RSS {mib(rss)} MiB; log: {lines[-1] if lines else '(no lead index line)'}")
        if st.get("leads") is not None and st.get("leads") != self.res["after_ingest"]["stats"].get("leads"):
            self.note(f"after restart /api/v1/stats says {st.get('leads')} leads, before {self.res['after_ingest']['stats'].get('leads')}")

    def import_spend(self):
        """`leads-dashboard import` of the Meta Ads Manager export, timed."""
        cmd = [self.a.bin, "import", self.spend_path, "--db", self.server.db_url]
        t = time.perf_counter()
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=self.a.step_timeout, cwd=ROOT,
                                 preexec_fn=self.server.preexec)
            secs = time.perf_counter() - t
            ok = out.returncode == 0
            text = (out.stdout + out.stderr).strip()
        except (OSError, subprocess.SubprocessError) as e:
            secs, ok, text = time.perf_counter() - t, False, repr(e)
        rows = self.spend["rows"]
        self.res["spend_import"] = {"rows": rows, "seconds": round(secs, 3), "ok": ok,
                                    "rows_per_s": round(rows / secs, 1) if secs else None, "output": text[-500:]}
        log(f"spend import: {rows:,} rows in {secs:.2f} s ({'ok' if ok else 'FAILED'}): {text[-200:]}")
        if not ok:
            self.fail("import spend CSV", None, text)

    # ---- 3b. the whole run under a memory limit (--memory-mib) -------------------------------
    def limit_run(self):
        """Every start of the server, and the import, in one memory cgroup; its
        RSS sampled through the run, the kernel's kills counted at the end."""
        limit = self.a.memory_mib * 2**20
        cg = memory_cgroup(limit)
        if cg is None:
            raise Fatal("--memory-mib: no writable memory cgroup here")
        preexec, self.cg_cleanup, self.cg_path = cg
        self.server.preexec = preexec
        self.res["memory_limit"] = {"limit_bytes": limit, "cgroup": self.cg_path}
        samples, self.rss_stop = [], threading.Event()

        def sample():
            while not self.rss_stop.wait(0.5):
                pid = self.server.pid if self.server is not None and self.server.alive() else None
                v = proc_status(pid) if pid else None
                if v:
                    samples.append((round(time.time() - self.t0, 1), v))
        self.t0 = time.time()
        self.rss_samples = samples
        threading.Thread(target=sample, daemon=True).start()
        log(f"memory limit: {self.a.memory_mib} MiB (cgroup {self.cg_path})")

    def limit_end(self):
        if not self.a.memory_mib or not hasattr(self, "cg_path"):
            return
        self.rss_stop.set()
        s = self.rss_samples
        out = self.res["memory_limit"]
        out["oom_kills"] = cgroup_oom_kills(self.cg_path)
        out["cgroup_peak_bytes"] = cgroup_peak(self.cg_path)
        out["rss_max_bytes"] = max((v for _, v in s), default=None)
        # A coarse trace for the report: at most 40 points.
        step = max(1, len(s) // 40)
        out["rss_trace"] = [(t, round(v / 2**20)) for t, v in s[::step]]
        log(f"memory limit: RSS max {mib(out['rss_max_bytes'])} MiB, cgroup peak "
            f"{mib(out['cgroup_peak_bytes'])} MiB, kills by the limit: {out['oom_kills']}")
        if out["oom_kills"]:
            self.fail("memory limit", None, f"{out['oom_kills']} process(es) killed by the memory limit")
        self.cg_cleanup()

    # ---- 7b. the same server with its memory bounded by a cgroup --------------------------
    def bounded(self):
        """The server sizes RocksDB's caches from its cgroup's memory limit
        (LEADS_MEMORY unset): start once more under a limit, read, and
        report RSS."""
        limit = self.a.bounded_mib * 1024 * 1024
        cg = memory_cgroup(limit)
        if cg is None:
            self.note("no writable memory cgroup here: RSS with bounded caches not measured")
            return
        preexec, cleanup, _ = cg
        self.server.stop(self.a.stop_timeout)
        self.server.preexec = preexec
        try:
            self.server.start()
            secs = self.server.wait_ready(self.a.start_timeout)
            http = Http(self.server.port, timeout=self.a.request_timeout)
            d = dt.date.fromisoformat(self.a.end_day)
            for path in (f"/api/v1/leads?from={d - dt.timedelta(days=6)}&to={d}",
                         f"/api/v1/leads/summary?from={d - dt.timedelta(days=364)}&to={d}",
                         f"/api/v1/leads?from={d - dt.timedelta(days=364)}&to={d}&q=santoso"):
                for _ in range(5):
                    http.request("GET", path)
            http.close()
            rss = proc_status(self.server.pid)
            self.res["bounded"] = {"limit_bytes": limit, "rss_bytes": rss, "start_seconds": round(secs, 3)}
            log(f"bounded: MemoryMax {self.a.bounded_mib} MiB -> RSS {mib(rss)} MiB after reads, ready in {secs:.2f} s")
        except (RuntimeError, OSError) as e:
            self.note(f"bounded-memory run failed: {e}")
        finally:
            self.server.stop(self.a.stop_timeout)
            self.server.preexec = None
            cleanup()

    # ---- driver -------------------------------------------------------------------------
    def run(self):
        try:
            self.generate()
            self.floor()
            self.start_server()
            self.ingest()
            self.ingest_conversions()
            if self.a.only_ingest:
                self.server.stop(self.a.stop_timeout)
                return True
            http = Http(self.server.port, timeout=self.a.request_timeout)
            self.after_ingest(http)
            self.reads(http)
            http.close()
            self.restart()
            http = Http(self.server.port, timeout=self.a.request_timeout)
            self.reads_ads(http)
            http.close()
            if not self.a.smoke and not self.a.memory_mib:
                self.bounded()
            note = self.server.stop(self.a.stop_timeout)
            if note:
                self.note("final stop: " + note)
            return True
        except Fatal as e:
            self.res["fatal"] = str(e)
            log(f"FATAL: {e}")
            return False
        finally:
            if self.server is not None and self.server.alive():
                self.server.stop(10)
            self.limit_end()
            self.res["failures"] = self.failures
            self.res["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")

    def cleanup(self):
        if self.a.keep:
            log(f"kept {self.tmp} (events, db, server.log)")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def index_bytes_per_lead(st):
    if not isinstance(st, dict):
        return None
    if isinstance(st.get("bytes_per_lead"), (int, float)):
        return st["bytes_per_lead"]
    if isinstance(st.get("index_bytes"), (int, float)) and st.get("leads"):
        return round(st["index_bytes"] / st["leads"], 1)
    return None


# ---- report ---------------------------------------------------------------------------------
def targets(res):
    """Rows of the report table: figure, target, p50, p95, value (p99 or the figure), total, met."""
    judge = not res["smoke"]
    rows = []

    def verdict(ok):
        if not judge:
            return "not judged"
        return "missing" if ok is None else ("yes" if ok else "**no**")

    def lat(r, limit, target=None):
        if not r:
            return
        ms = r.get("ms")
        ok = None if not ms or not r.get("ok") or limit is None else ms["p95"] <= limit
        total = "" if r.get("total") is None else total_cell(r["total"], r.get("expected"))
        rows.append([r["label"], target or f"p95 ≤ {limit} ms", ms and ms["p50"], ms and ms["p95"],
                     ms and ms["p99"], total, verdict(ok) if limit else "—"])

    ing = res.get("ingest")
    if ing:
        floor = res.get("floor")
        rows.append(["durable ingest (events/s)", "≥ 20,000", ing["batch_ms"] and ing["batch_ms"]["p50"],
                     ing["batch_ms"] and ing["batch_ms"]["p95"],
                     f"{ing['events_per_s']:,.0f}/s (batch p99 {ing['batch_ms'] and ing['batch_ms']['p99']} ms)",
                     total_cell(ing["accepted"] + ing["duplicates"], ing["expected_deliveries"]),
                     verdict(ing["events_per_s"] >= 20000 and not ing["failed_batches"])])
        rows.append(["ingest / floor", "—", "", "",
                     f"{ing['ratio_to_floor']:.0%} of {floor['events_per_s']:,.0f}/s" if floor and ing["ratio_to_floor"]
                     else "floor missing", "", "—"])
    reads = res.get("reads") or {}
    lat(reads.get("healthz"), None, "— (HTTP alone)")
    lat(reads.get("first_page_7d"), 5)
    for r in reads.get("page100") or []:
        lat(r, 10)
    for r in reads.get("search") or []:
        lat(r, 20)
    lat(reads.get("summary_30d"), 10)
    lat(reads.get("summary_365d"), 30)
    lat(reads.get("ads_30d"), 10)
    lat(reads.get("ads_365d"), 30)
    lat(reads.get("ads_365d_event_date"), None, "—")
    conv = res.get("conversions")
    if conv:
        rows.append(["conversions ingest (purchases/s)", "≥ 20,000 (as events)", conv["batch_ms"] and conv["batch_ms"]["p50"],
                     conv["batch_ms"] and conv["batch_ms"]["p95"], f"{conv['events_per_s']:,.0f}/s",
                     total_cell(conv["accepted"] + conv["duplicates"], conv["expected"]),
                     verdict(conv["events_per_s"] >= 20000 and not conv["failed_batches"])])
    imp = res.get("spend_import")
    if imp:
        rows.append([f"spend import, Ads Manager CSV ({imp['rows']:,} rows, `import FILE`)", "≤ 10 s at 180k rows",
                     "", "", f"{imp['seconds']:.2f} s" + (f" ({imp['rows_per_s']:,.0f} rows/s)" if imp["rows_per_s"] else "")
                     if imp["ok"] else "failed", "", verdict(imp["ok"] and imp["seconds"] <= 10)])
    csv = reads.get("csv")
    if csv:
        rate = csv.get("rows_per_s_median")
        ok = None if rate is None else (rate >= 200_000 and bool(csv.get("flat")))
        rows.append(["CSV export, 365 days (rows/s, server RSS)", "≥ 200,000 rows/s, flat memory", "", "",
                     f"{rate:,.0f} rows/s; RSS {mib(csv['rss_min_bytes'])}–{mib(csv['rss_max_bytes'])} MiB"
                     if rate is not None else "failed", total_cell(csv.get("rows"), csv.get("expected")), verdict(ok)])
    rs = res.get("restart")
    if rs:
        rows.append(["start-up until the index serves", "≤ 15 s", "", "", f"{rs['seconds']:.2f} s", "",
                     verdict(rs["seconds"] <= 15)])
    ai = res.get("after_ingest")
    if ai:
        bpl = ai.get("index_bytes_per_lead")
        rows.append(["index bytes per lead", "≤ 200", "", "", bpl if bpl is not None else "missing (/api/v1/stats)",
                     "", verdict(None if bpl is None else bpl <= 200)])
    ing10 = (ing or {}).get("at_10_percent")
    if ing10:
        rows.append([f"RSS at {ing10.get('leads') if ing10.get('leads') is not None else '?'} leads "
                     f"({ing10['batches']} batches)", "—", "", "", f"{mib(ing10['rss_bytes'])} MiB", "", "—"])
    if ai:
        leads = ai["stats"].get("leads") if isinstance(ai.get("stats"), dict) else None
        rows.append([f"RSS at the end ({leads if leads is not None else res['generated']['leads']} leads)", "—", "", "",
                     f"{mib(ai['rss_bytes'])} MiB (peak {mib(ai['rss_peak_bytes'])} MiB)", "", "—"])
        rows.append(["bytes on disk per lead (RocksDB folder)", "—", "", "",
                     f"{ai['disk_bytes_per_lead']} ({mib(ai['disk_bytes'])} MiB)", "", "—"])
    if rs:
        rows.append(["RSS after restart", "—", "", "", f"{mib(rs['rss_bytes'])} MiB", "", "—"])
    ml = res.get("memory_limit")
    if ml:
        kills = ml.get("oom_kills")
        rows.append([f"processes killed by the memory limit ({mib(ml['limit_bytes'])} MiB, cgroup)", "0", "", "",
                     "unknown" if kills is None else str(kills), "",
                     verdict(None if kills is None else kills == 0)])
        rows.append(["RSS through the run under the limit (max; cgroup peak with page cache)", "—", "", "",
                     f"{mib(ml.get('rss_max_bytes'))} MiB (cgroup {mib(ml.get('cgroup_peak_bytes'))} MiB)", "", "—"])
    bd = res.get("bounded")
    if bd:
        rows.append([f"RSS with the database caches bounded (cgroup limit {mib(bd['limit_bytes'])} MiB), after reads",
                     "—", "", "", f"{mib(bd['rss_bytes'])} MiB", "", "—"])
    return rows


def total_cell(total, expected):
    """The server's count, flagged when it differs from what the generator made."""
    if total is None:
        return ""
    if expected is None or total == expected:
        return f"{total:,}" if isinstance(total, int) else str(total)
    return f"{total:,} ≠ {expected:,} ⚠" if isinstance(total, int) else f"{total} ≠ {expected} ⚠"


def fmt(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.2f}" if v < 100 else f"{v:,.0f}"
    return str(v)


def markdown(res):
    m, g = res["machine"], res.get("generated") or {}
    out = ["# Benchmarks", "",
           f"Run {res['started']} by `bench/run.py`"
           + (" — **smoke run: timings not judged**" if res["smoke"] else "") + ".", "",
           f"- Machine: {m.get('nproc')} CPUs ({m.get('cpu', '?')}), "
           f"{(m.get('mem_total_bytes') or 0) / 2**30:.1f} GiB memory, Linux {m.get('kernel')}",
           f"- Binary: {m.get('binary')}, commit {m.get('commit')}",
           *([f"- **The whole run under a {res['memory_limit']['limit_bytes'] // 2**20} MiB memory limit** "
              f"(a cgroup holding the server and the import)"] if res.get("memory_limit") else []),
           f"- Scale {res['scale']}: {g.get('contacts', 0):,} contacts, {g.get('leads', 0):,} leads, "
           f"{g.get('events', 0):,} distinct events ({g.get('deliveries', 0):,} deliveries with "
           f"{g.get('duplicates', 0):,} duplicates and {g.get('late', 0):,} late) over the 365 days to "
           f"{res['end_day']}; ~{res['events_per_lead']} events per lead, seed {res['seed']}",
           f"- Ingest by {res['clients']} HTTP clients in batches of 1000; reads: {res['reps']} timed requests "
           f"after {res['warmup']} warm-up on a keep-alive connection; times in ms; total = the `total` the "
           f"server answered, marked ⚠ where it differs from what the generated data implies under the "
           f"rules (phone searches: the spec's reading, `00` and `+62 0` habits included)", ""]
    if res.get("fatal"):
        out += ["**The run broke off:** ", "", "```", res["fatal"][-3000:], "```", ""]
    rows = targets(res)
    out += ["| figure | target | p50 | p95 | p99 / value | total | met? |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append("| " + " | ".join(fmt(v).replace("|", "\\|") for v in r) + " |")
    judged = [r for r in rows if r[-1] in ("yes", "**no**", "missing")]
    if judged:
        met = sum(1 for r in judged if r[-1] == "yes")
        out += ["", f"{met} of {len(judged)} targets met."]
    fl = res.get("floor")
    out += ["", "## Notes", ""]
    if fl:
        out.append(f"- Floor (`floor`: the server's parser plus one fsync per batch, no database): "
                   f"{fl['events_per_s']:,.0f} events/s over {fl.get('events'):,} events.")
    rs = res.get("restart")
    if rs and rs.get("log"):
        out.append(f"- Start-up log: `{rs['log'][-1]}`")
    ai = res.get("after_ingest")
    if ai and isinstance(ai.get("stats"), dict):
        out.append("- `/api/v1/stats` after ingest: `" + json.dumps(ai["stats"]) + "`")
    ml = res.get("memory_limit")
    if ml and ml.get("rss_trace"):
        out.append("- RSS under the memory limit through the run (seconds: MiB): "
                   + ", ".join(f"{t:.0f}: {v}" for t, v in ml["rss_trace"]))
    for n in res.get("notes") or []:
        out.append(f"- {n}")
    if res.get("failures"):
        out.append(f"- **{len(res['failures'])} requests failed**; first: `{res['failures'][0]}`")
    out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True, help="path to the leads-dashboard binary")
    ap.add_argument("--scale", type=float, help="1.0 = 1,000,000 contacts (default 1.0, 0.01 with --smoke)")
    ap.add_argument("--events-per-lead", type=float, default=3)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--end-day", default="2026-11-26")
    ap.add_argument("--out-md", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    ap.add_argument("--out-json", default=os.path.join(ROOT, "bench", "results.json"))
    ap.add_argument("--smoke", action="store_true", help="small and quick, for CI: targets not judged")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (events, db, server log)")
    ap.add_argument("--only-ingest", action="store_true",
                    help="stop after the ingest and conversions figures (for A/B runs of the write path)")
    ap.add_argument("--tmp", help="parent folder of the temp dir (default: system temp)")
    ap.add_argument("--reps", type=int, help="timed requests per read (default 200, 50 with --smoke)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--csv-runs", type=int, default=3)
    ap.add_argument("--start-timeout", type=float, default=600, help="seconds to wait for /healthz 200")
    ap.add_argument("--stop-timeout", type=float, default=60)
    ap.add_argument("--bounded-mib", type=int, default=3072,
                    help="memory limit (cgroup) for the bounded-caches RSS figure")
    ap.add_argument("--memory-mib", type=int,
                    help="run the server (every start, and the import) under this memory limit (cgroup); "
                         "RSS is sampled through the run and a kill by the limit fails it")
    ap.add_argument("--request-timeout", type=float, default=600)
    ap.add_argument("--step-timeout", type=float, default=3600, help="for the floor command")
    ap.add_argument("--server-arg", action="append", default=[],
                    help="extra argument for `serve` (repeat; use --server-arg=--flag)")
    a = ap.parse_args()
    if a.scale is None:
        a.scale = 0.01 if a.smoke else 1.0
    if a.reps is None:
        a.reps = 50 if a.smoke else 200
    a.bin = os.path.abspath(a.bin)
    if not (os.path.isfile(a.bin) and os.access(a.bin, os.X_OK)):
        print(f"error: {a.bin} is not an executable file", file=sys.stderr)
        return 2
    run = Run(a)
    try:
        finished = run.run()
    except KeyboardInterrupt:
        run.res["fatal"] = "interrupted"
        finished = False
    finally:
        run.cleanup()
    os.makedirs(os.path.dirname(os.path.abspath(a.out_json)), exist_ok=True)
    with open(a.out_json, "w", encoding="utf-8") as f:
        json.dump(run.res, f, ensure_ascii=False, indent=1)
    os.makedirs(os.path.dirname(os.path.abspath(a.out_md)), exist_ok=True)
    with open(a.out_md, "w", encoding="utf-8") as f:
        f.write(markdown(run.res))
    log(f"wrote {a.out_md} and {a.out_json}")
    if not finished:
        return 2
    if run.failures:
        log(f"{len(run.failures)} requests failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
