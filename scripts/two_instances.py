#!/usr/bin/env python3
"""Two leads-dashboard instances on one SurrealDB server.

Starts the real SurrealDB server (SURREAL, built by `make two-instances`) on
loopback, two instances of BINARY against it, sends concurrent batches for
the same contacts to both (out of order), then checks on both instances'
API that every contact is one lead with the right Date and First Touched
At, that a lead ingested through one appears on the other within a second,
that ad spend stored (and stored again) through one shows on the other,
that an instance started again loads both from the server, and that a
sign-in made on one works on the other.

usage: two_instances.py SURREAL BINARY"""
import http.cookiejar, json, os, random, socket, subprocess, sys, tempfile, threading, time
import urllib.error, urllib.parse, urllib.request

TOKEN = "two-instances-token"

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def call(base, path, body=None, headers=None):
    h = {"Authorization": f"Bearer {TOKEN}"}
    h.update(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, data=data, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")

def wait_healthy(base, proc, what):
    for _ in range(1200):
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}")
        try:
            if urllib.request.urlopen(base + "/healthz", timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"{what} did not become healthy")

def iso(minute):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1795165200 + minute * 60))  # 2026-11-20T09:00Z

def main(surreal, binary):
    work = tempfile.mkdtemp(prefix="leads-two-")
    dbport = free_port()
    procs = []
    try:
        db = subprocess.Popen([surreal, "start", "--bind", f"127.0.0.1:{dbport}", "--user", "root",
                               "--pass", "root", "--log", "warn", "memory"],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "surreal.log"), "w"))
        procs.append(db)
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", dbport), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        bases = []
        def instance(name, port):
            env = dict(os.environ, LEADS_API_TOKEN=TOKEN, LEADS_ADMIN_PASSWORD="two-instances-pw",
                       RUST_LOG=os.environ.get("TWO_LOG", "warn"))  # TWO_LOG=debug to see why one fails
            return subprocess.Popen([binary, "serve", "--db", f"ws://127.0.0.1:{dbport}", "--db-user", "root",
                                     "--db-pass", "root", "--addr", f"127.0.0.1:{port}"], env=env,
                                    stderr=open(os.path.join(work, f"{name}.log"), "a"))
        ports = []
        for name in ["a", "b"]:
            ports.append(free_port())
            procs.append(instance(name, ports[-1]))
            bases.append(f"http://127.0.0.1:{ports[-1]}")
        for base, p, name in zip(bases, procs[1:], "ab"):
            wait_healthy(base, p, f"instance {name}")

        # 40 contacts: an inbound message, a later one, an agent answer, and
        # an earlier inbound that arrives last; split across both instances
        # in random batches, sent concurrently.
        rng = random.Random(7)
        expected = {}
        events = []
        for c in range(40):
            phone = f"+62812777{c:05d}"
            t = 10 * c
            events += [
                {"id": f"c{c}-in2", "occurred_at": iso(t + 5), "channel": "whatsapp", "direction": "inbound",
                 "contact": {"phone": phone, "name": f"Kontak {c}"}},
                {"id": f"c{c}-out", "occurred_at": iso(t + 7), "channel": "whatsapp", "direction": "outbound",
                 "sender": "agent", "contact": {"phone": phone}},
                {"id": f"c{c}-in1", "occurred_at": iso(t), "channel": "whatsapp", "direction": "inbound",
                 "contact": {"phone": phone}},
            ]
            expected[phone] = (iso(t), iso(t + 7))
        batches = []
        rng.shuffle(events)
        while events:
            n = rng.randint(1, 12)
            batches.append(events[:n])
            events = events[n:]
        errors = []
        def send(i, batch):
            status, body = call(bases[i % 2], "/api/v1/events", batch)
            if status != 200:
                errors.append((status, body))
        threads = [threading.Thread(target=send, args=(i, b)) for i, b in enumerate(batches)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        time.sleep(1.0)
        q = "/api/v1/leads?from=2026-11-20&to=2026-11-21&tz=UTC&limit=500"
        for base, name in zip(bases, "ab"):
            status, page = call(base, q)
            assert status == 200, page
            got = {l["phone"]: (l["date"], l["first_touched_at"]) for l in page["leads"]}
            assert page["total"] == len(expected), (name, page["total"])
            assert got == expected, (name, {k: (got.get(k), v) for k, v in expected.items() if got.get(k) != v})
            print(f"instance {name}: {page['total']} leads, each with the right Date and First Touched At")

        # Both instances' pages (signed in) list every contact.
        for base, name in zip(bases, "ab"):
            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            data = urllib.parse.urlencode({"name": "admin", "password": "two-instances-pw",
                                           "next": "/?from=2026-11-20&to=2026-11-21&tz=UTC"}).encode()
            html = opener.open(base + "/signin", data).read().decode()
            missing = [c for c in range(40) if f"Kontak {c}<" not in html]
            assert not missing, (name, missing[:5])
            print(f"instance {name}: the Leads page lists all 40")

        # One more lead through A: how soon does B show it?
        started = time.time()
        status, _ = call(bases[0], "/api/v1/events", [{"id": "late-1", "occurred_at": iso(500), "channel": "web",
                         "direction": "inbound", "contact": {"external_id": "visitor-1"}}])
        assert status == 200
        while True:
            _, page = call(bases[1], q)
            if page["total"] == len(expected) + 1:
                break
            assert time.time() - started < 1.0, "B did not show A's lead within a second"
            time.sleep(0.02)
        print(f"a lead ingested through A appeared on B after {1000 * (time.time() - started):.0f} ms")

        # Ad spend stored through A shows in B's ads report; stored again
        # with another amount, it replaces the first on B too.
        ads_q = "/api/v1/ads?from=2026-11-20&to=2026-11-21&tz=UTC"
        ad = "120400001"
        def spend_on_b():
            status, report = call(bases[1], ads_q)
            assert status == 200, report
            return next((r["spend"] for r in report["rows"]
                         if r["source"] and r["source"].get("id") == ad), None)
        for amount in [60000, 45000]:
            started = time.time()
            status, body = call(bases[0], "/api/v1/spend", [{"date": "2026-11-20", "platform": "meta",
                                                              "ad_id": ad, "spend": amount}])
            assert status == 200, body
            while (shown := spend_on_b()) != amount:
                assert time.time() - started < 2.0, f"B shows spend {shown}, not A's {amount}, after 2 s"
                time.sleep(0.02)
            print(f"spend of {amount} stored through A shown on B after {1000 * (time.time() - started):.0f} ms")

        # B started again loads what is stored on the server: every lead
        # and the spend as replaced.
        procs[2].terminate()
        procs[2].wait(timeout=30)
        procs[2] = instance("b", ports[1])
        wait_healthy(bases[1], procs[2], "instance b, started again")
        _, page = call(bases[1], q)
        assert page["total"] == len(expected) + 1, page["total"]
        assert spend_on_b() == 45000, spend_on_b()
        print(f"instance b started again: {page['total']} leads and the replaced spend")

        # A sign-in made on A works on B (sessions live in the database).
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        data = urllib.parse.urlencode({"name": "admin", "password": "two-instances-pw", "next": "/"}).encode()
        opener.open(bases[0] + "/signin", data).read()
        cookie = next(c.value for c in jar if c.name == "leads_session")
        req = urllib.request.Request(bases[1] + "/srv/live", headers={"Cookie": f"leads_session={cookie}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200
        print("a sign-in on A is valid on B")
        print("two instances: pass")
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
