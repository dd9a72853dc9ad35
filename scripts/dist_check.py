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
            print(f"ok {path}: {len(body)} bytes, {len(zbody)} sent with gzip, 304 on revalidation")
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        data = urllib.parse.urlencode({"name": "admin", "password": "dist-check-password", "next": "/"}).encode()
        html = opener.open(base + "/signin", data).read().decode()
        assert "/pkg/leads-dashboard.js" in html and "/pkg/leads-dashboard.css" in html
        print("dist check: the binary serves its whole site from an empty folder")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)

if __name__ == "__main__":
    main(sys.argv[1])
