"""Helpers shared by bench/run.py and bench/crash.py: the server process,
keep-alive HTTP, percentiles, memory and disk figures. Standard library only."""
import http.client
import json
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN = "bench-api-token-1"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def percentiles(samples_s):
    """p50/p95/p99 (nearest rank) and friends, in milliseconds."""
    if not samples_s:
        return None
    xs = sorted(x * 1000 for x in samples_s)
    n = len(xs)

    def rank(q):
        return round(xs[min(n - 1, max(0, math.ceil(round(q * n, 6)) - 1))], 3)
    return {"n": n, "p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99),
            "min": round(xs[0], 3), "max": round(xs[-1], 3), "mean": round(sum(xs) / n, 3)}


def proc_status(pid, key="VmRSS"):
    """A /proc/PID/status figure in bytes (VmRSS, VmHWM), None when gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def dir_usage(path):
    """(bytes allocated on disk, apparent bytes) of a folder, like du."""
    alloc = apparent = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(folder, name))
            except OSError:
                continue        # RocksDB deletes files while we walk
            alloc += st.st_blocks * 512
            apparent += st.st_size
    return alloc, apparent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mib(b):
    return None if b is None else round(b / 2**20, 1)


def machine_info(bin_path):
    info = {"nproc": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release()}
    try:
        info["nproc_usable"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    info["mem_total_bytes"] = int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    for key, cmd in (("binary", [bin_path, "--version"]), ("commit", ["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
            info[key] = out.stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            info[key] = None
    return info


def last_json_line(text):
    """The last line of a command's output that parses as a JSON object."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


class Http:
    """One keep-alive connection; reconnects (and retries once) when the server
    closed it between requests."""

    def __init__(self, port, timeout=120.0, host="127.0.0.1"):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn = None
        self.reconnects = 0

    def _connect(self):
        self.close()
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, auth=True, stream=None):
        """(status, body bytes, seconds). With `stream`, the body is handed to
        stream(chunk) in pieces instead (body returned as b"")."""
        headers = {"Authorization": "Bearer " + TOKEN} if auth else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            if self.conn is None:
                self._connect()
            t = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                if stream is None:
                    data = resp.read()
                else:
                    data = b""
                    while True:
                        chunk = resp.read1(1 << 16)
                        if not chunk:
                            break
                        stream(chunk)
                dt = time.perf_counter() - t
                if resp.will_close:
                    self.close()
                return resp.status, data, dt
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    http.client.CannotSendRequest, http.client.ResponseNotReady):
                # A keep-alive connection the server already closed: one fresh try.
                self.close()
                self.reconnects += 1
                if attempt:
                    raise
            except Exception:
                self.close()
                raise
        raise AssertionError("unreachable")

    def get_json(self, path, auth=True):
        status, data, dt = self.request("GET", path, auth=auth)
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            doc = None
        return status, doc, data, dt


class Server:
    """`leads-dashboard serve` on a given database, with its log in a file."""

    def __init__(self, bin_path, db_url, log_path, extra_args=(), port=None):
        self.bin, self.db_url, self.log_path = bin_path, db_url, log_path
        self.extra = list(extra_args)
        self.port = port or free_port()
        self.proc = None
        self.spawned_at = None
        # Called in the child before exec (e.g. to join a memory cgroup).
        self.preexec = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        env = dict(os.environ, LEADS_API_TOKEN=TOKEN, RUST_LOG=os.environ.get("BENCH_RUST_LOG", "info"))
        cmd = [self.bin, "serve", "--db", self.db_url, "--addr", f"127.0.0.1:{self.port}"] + self.extra
        logf = open(self.log_path, "ab")
        logf.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n".encode())
        logf.flush()
        self.spawned_at = time.perf_counter()
        # cwd = the repository, so the default site root (target/site) resolves.
        self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                     preexec_fn=self.preexec)
        logf.close()

    def wait_ready(self, timeout):
        """Seconds from spawn until GET /healthz answers 200. Raises when the
        process exits or the timeout passes."""
        deadline = self.spawned_at + timeout
        while True:
            if not self.alive():
                raise RuntimeError(f"server exited with code {self.proc.returncode} before /healthz answered "
                                   f"200\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return time.perf_counter() - self.spawned_at
            except (OSError, http.client.HTTPException):
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError(f"/healthz did not answer 200 within {timeout:.0f} s\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self, timeout=60):
        """SIGTERM and wait; SIGKILL if it does not stop. Returns a note or None."""
        if not self.alive():
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
            return None
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return f"did not stop within {timeout} s of SIGTERM; killed"

    def kill(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def log_tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 64 * 1024))
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "--- server log (tail) ---\n" + "\n".join(lines[-n:])
        except OSError:
            return "(no server log)"

    def log_grep(self, needle, since_last_start=True):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            return []
        if since_last_start and "\n==== " in text:
            text = text.rsplit("\n==== ", 1)[1]
        return [line.strip() for line in text.splitlines() if needle.lower() in line.lower()]


def batch_offsets(path):
    """(offset, length) of every line of an NDJSON file, so batches can be read
    on demand instead of holding the file in memory."""
    out, pos = [], 0
    with open(path, "rb") as f:
        for line in f:
            out.append((pos, len(line)))
            pos += len(line)
    return out


def read_at(fd, offset, length):
    return os.pread(fd, length, offset).rstrip(b"\n")


def die(msg, code=2):
    print(f"error: {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


def memory_cgroup(limit_bytes):
    """A memory cgroup with a limit, or None where none can be made. Returns
    (preexec function that moves the child into it, cleanup function, the
    cgroup's folder)."""
    for base, limit_file in (("/sys/fs/cgroup/memory", "memory.limit_in_bytes"),
                             ("/sys/fs/cgroup", "memory.max")):
        path = os.path.join(base, f"leads-bench-{os.getpid()}")
        try:
            if not os.path.exists(os.path.join(base, limit_file if base.endswith("memory") else "cgroup.controllers")):
                continue
            os.makedirs(path, exist_ok=True)
            with open(os.path.join(path, limit_file), "w") as f:
                f.write(str(limit_bytes))
        except OSError:
            continue

        def preexec(path=path):
            with open(os.path.join(path, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

        def cleanup(path=path):
            try:
                os.rmdir(path)
            except OSError:
                pass
        return preexec, cleanup, path
    return None


def cgroup_oom_kills(path):
    """How many processes the kernel killed in this memory cgroup for want of
    memory (v1 `memory.oom_control`, v2 `memory.events`); None if unknown."""
    for name in ("memory.events", "memory.oom_control"):
        try:
            with open(os.path.join(path, name)) as f:
                for line in f:
                    k, _, v = line.partition(" ")
                    if k == "oom_kill":
                        return int(v)
        except (OSError, ValueError):
            continue
    return None


def cgroup_peak(path):
    """The cgroup's peak charge in bytes (page cache included), None if unknown."""
    for name in ("memory.max_usage_in_bytes", "memory.peak"):
        try:
            with open(os.path.join(path, name)) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            continue
    return None
