#!/usr/bin/env python3
"""The self-contained binary serves its site from an empty folder.

Copies BINARY into a new empty folder, runs it there (no site/ beside it,
--site-root pointing nowhere) and checks the WASM, JS, CSS and favicon:
content types, gzip, ETag revalidation; and that the signed-in page refers
to them."""
import http.cookiejar, os, shutil, socket, subprocess, sys, tempfile, time, urllib.parse, urllib.request

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def main(binary):
    folder = tempfile.mkdtemp(prefix="leads-dist-")
    exe = os.path.join(folder, "leads-dashboard")
    shutil.copy(binary, exe)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, LEADS_ADMIN_PASSWORD="dist-check-password", RUST_LOG="warn")
    proc = subprocess.Popen([exe, "serve", "--db", "mem://", "--addr", f"127.0.0.1:{port}",
                             "--site-root", os.path.join(folder, "no-site")], cwd=folder, env=env)
    try:
        for _ in range(600):
            try:
                if urllib.request.urlopen(base + "/healthz").status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        assert os.listdir(folder) == ["leads-dashboard"], os.listdir(folder)
        def get(path, headers=None):
            req = urllib.request.Request(base + path, headers=headers or {})
            try:
                return urllib.request.urlopen(req)
            except urllib.error.HTTPError as e:
                return e
        for path, ctype in [("/pkg/leads-dashboard.wasm", "application/wasm"),
                            ("/pkg/leads-dashboard.js", "text/javascript"),
                            ("/pkg/leads-dashboard.css", "text/css"),
                            ("/favicon.svg", "image/svg+xml")]:
            r = get(path)
            body = r.read()
            assert r.status == 200, (path, r.status)
            assert r.headers["Content-Type"].startswith(ctype), (path, r.headers["Content-Type"])
            assert len(body) > 100, path
            etag = r.headers["ETag"]
            assert etag, path
            z = get(path, {"Accept-Encoding": "gzip"})
            zbody = z.read()
            if path.endswith((".wasm", ".js", ".css")):
                assert z.headers["Content-Encoding"] == "gzip", path
                assert len(zbody) < len(body), path
            again = get(path, {"If-None-Match": etag})
            assert again.status == 304, (path, again.status)
            b = get(path, {"Accept-Encoding": "br, gzip"})
            bbody = b.read()
            if path.endswith((".wasm", ".js", ".css")):
                assert b.headers["Content-Encoding"] == "br", path
                assert len(bbody) < len(zbody), path
            print(f"ok {path}: {len(body)} bytes, {len(zbody)} with gzip, {len(bbody)} with brotli, 304 on revalidation")
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        data = urllib.parse.urlencode({"name": "admin", "password": "dist-check-password", "next": "/"}).encode()
        html = opener.open(base + "/signin", data).read().decode()
        # The page asks for versioned URLs, which may be kept for a year.
        import re
        m = re.search(r'href="(/v/[0-9a-f]+)/pkg/leads-dashboard\.css"', html)
        assert m, "the page links the versioned stylesheet"
        root = m.group(1)
        assert f"{root}/pkg/leads-dashboard.js" in html or f'"{root}"' in html
        for f in ["leads-dashboard.js", "leads-dashboard.wasm", "leads-dashboard.css"]:
            r = get(f"{root}/pkg/{f}")
            assert r.status == 200, f
            assert "immutable" in r.headers["Cache-Control"], r.headers["Cache-Control"]
        old = get(f"/v/000000000000/pkg/leads-dashboard.js")
        assert old.status == 200 and old.headers["Cache-Control"] == "no-cache"
        print(f"ok versioned {root}/pkg/…: cached for a year")
        print("dist check: the binary serves its whole site from an empty folder")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)

if __name__ == "__main__":
    main(sys.argv[1])
