"""01-blocking-client's step of the tour (chapter/tour.py): a page fetched, the client asleep in
recv() while a server says nothing, and three pages read one socket at a time."""
from __future__ import annotations

import http.server
import re
import socket
import subprocess
import threading
import time

from chapter import procfs
from chapter.tour import Row, Tour

TEXT = {
    "en": {
        "run": "Fetching a page from a local HTTP server on 127.0.0.1:{port} ...",
        "fetched": "{bytes} bytes fetched in {ms:.0f} ms, every byte as served",
        "block": "Now a server that accepts and never answers; while the client waits in "
                 "recv(), what /proc says of it:",
        "server": "server: got '{request}', answers nothing",
        "blocked": "state {state}, asleep in {call} for {seconds:.1f} s: {cpu:.0f}% CPU, woken "
                   "{switches} times",
        "woken": "the server closes the connection: recv() returns 0, end of file; the client "
                 "exits {code} with {bytes} bytes",
        "pages": "Three pages, the first sent a second late; the client sends every request, "
                 "then reads each socket to its end in turn:",
        "page": "page {n} {path:7} ready at {ready:6.0f} ms, read at {first:6.0f} ms (its end "
                "at {end:.0f} ms)",
        "clocks": "(ready: when the tour's server sent it, counted from the first request it "
                  "received; read: the client's --timing, counted from its start, just before "
                  "it sent that request)",
        "measured": "{blocked}; page 3 ready at {ready:.0f} ms, read at {read:.0f} ms",
        "lesson": "Lesson: a blocked call sleeps at no CPU cost, but the program waits on one "
                  "socket at a time, while another's page sits unread ({measured}).",
        "row": "blocking: asleep in recv(), one socket at a time",
    },
    "zh-CN": {
        "run": "从 127.0.0.1:{port} 上的本地 HTTP 服务器获取一个页面……",
        "fetched": "{ms:.0f} 毫秒内取得 {bytes} 字节，与服务器发出的逐字节一致",
        "block": "再换一个只接受连接、从不响应的服务器；客户端等在 recv() 里时，/proc 这样描述它：",
        "server": "服务器：收到 '{request}'，不作响应",
        "blocked": "状态 {state}，在 {call} 里睡了 {seconds:.1f} 秒：CPU {cpu:.0f}%，被唤醒 {switches} 次",
        "woken": "服务器关闭连接：recv() 返回 0，即 EOF；客户端以 {code} 退出，输出 {bytes} 字节",
        "pages": "三个页面，第一个晚一秒才发出；客户端先发出所有请求，再依次把每个套接字读到结束：",
        "page": "页面 {n} {path:7} {ready:6.0f} 毫秒时就绪，{first:6.0f} 毫秒时才被读取（{end:.0f} 毫秒时读完）",
        "clocks": "（就绪：导览的服务器发出它的时刻，从它收到第一个请求算起；读取：客户端 --timing 的输出，从客户端启动算起，也就是它发出那个请求之前不久）",
        "measured": "{blocked}；页面 3 在 {ready:.0f} 毫秒时就绪，{read:.0f} 毫秒时才被读取",
        "lesson": "要点：阻塞的调用在睡眠中等待，不耗 CPU；但程序一次只能等一个套接字，别的套接字上到了的页面只能放着没人读（{measured}）。",
        "row": "阻塞：睡在 recv() 里，一次一个套接字",
    },
}


class _PageHandler(http.server.BaseHTTPRequestHandler):
    """Serves the tour's pages (server.pages), each after its delay (server.delays, seconds),
    and records when each was asked for (server.asked) and sent (server.sent: time.monotonic(),
    once the kernel has it all)."""

    def do_GET(self):
        self.server.asked[self.path] = time.monotonic()
        time.sleep(self.server.delays.get(self.path, 0))
        self.wfile.write(self.server.pages[self.path])
        self.server.sent[self.path] = time.monotonic()

    def log_message(self, *args):
        pass


def http_page(body: bytes) -> bytes:
    return (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
            % len(body)) + body


# The client's --timing lines: "01-blocking-client: page 3 (/three): first byte at 1003.2 ms, ...".
TIMING = re.compile(r"page (\d+) \((\S+)\): first byte at ([\d.]+) ms, end at ([\d.]+) ms")


def run(tour: Tour) -> Row:
    body = b"".join(b"line %05d of a page served on loopback\n" % i for i in range(6000))
    # A server thread per connection (ThreadingHTTPServer), so that the slow page delays no other.
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
    httpd.pages = {"/": http_page(body), "/one": http_page(b"page one, sent a second late\n"),
                   "/two": http_page(b"page two, sent at once\n"),
                   "/three": http_page(b"page three, sent at once\n")}
    httpd.delays, httpd.asked, httpd.sent = {"/one": 1.0}, {}, {}
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    client = str(tour.bin_dir / tour.stage.directory)
    try:
        port = httpd.server_address[1]
        tour.say("run", port=port)
        started = time.monotonic()
        result = subprocess.run([client, "--port", str(port), "127.0.0.1", "/"],
                                capture_output=True, timeout=30)
        took = time.monotonic() - started
        for line in result.stdout.split(b"\r\n")[:3]:
            tour.show(line.decode(errors="replace"))
        tour.show("...")
        ok = result.returncode == 0 and result.stdout == httpd.pages["/"]
        tour.show(tour.t("fetched", bytes=len(result.stdout), ms=took * 1000))
        if not ok:
            tour.show(f"!! exit {result.returncode}, {len(result.stdout)} of "
                      f"{len(httpd.pages['/'])} bytes, "
                      f"stderr: {result.stderr.decode(errors='replace')}")

        blocked_ok, blocked = blocked_client(tour, client)

        paths = ["/one", "/two", "/three"]
        tour.say("pages")
        tour.show(f"$ 01-blocking-client --timing --port {port} 127.0.0.1 {' '.join(paths)}")
        result = subprocess.run([client, "--timing", "--port", str(port), "127.0.0.1", *paths],
                                capture_output=True, timeout=30)
    finally:
        httpd.shutdown()
        httpd.server_close()
    read = {int(n): (float(first), float(end))
            for n, _, first, end in TIMING.findall(result.stderr.decode(errors="replace"))}
    # The server's clock starts at the first request it received, the client's at its own start,
    # just before it sent that request: a page is never shown read before it was ready.
    started = min((httpd.asked[p] for p in paths if p in httpd.asked), default=0)
    ready = {n: (httpd.sent[path] - started) * 1000 for n, path in enumerate(paths, 1)
             if path in httpd.sent}
    in_order = (result.returncode == 0 and len(read) == 3 == len(ready)
                and result.stdout == b"".join(httpd.pages[p] for p in paths))
    if not in_order:
        tour.show(f"!! exit {result.returncode}, stderr: {result.stderr.decode(errors='replace')}")
        return tour.row(blocked, False)
    for n, path in enumerate(paths, 1):
        tour.show(tour.t("page", n=n, path=path, ready=ready[n], first=read[n][0],
                         end=read[n][1]))
    tour.show(tour.t("clocks"))
    # The lesson, loosely: page 3 was ready at once, yet read only once page 1 was complete,
    # about a second later (the slow page's delay).
    late = read[3][0] >= read[1][1] and read[3][0] - ready[3] > 500
    measured = tour.t("measured", blocked=blocked, ready=ready[3], read=read[3][0])
    tour.say("lesson", measured=measured)
    return tour.row(measured, ok and blocked_ok and late)


def blocked_client(tour: Tour, client: str, seconds: float = 1.0) -> tuple[bool, str]:
    """Runs the client against a server that accepts and never answers, and reads from /proc,
    while it waits, what a student would: its state, its system call, its CPU time. Then the
    server closes the connection. Returns (as expected, the figures in one phrase)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)
        port = listener.getsockname()[1]
        tour.say("block")
        tour.show(f"$ 01-blocking-client --port {port} 127.0.0.1 /")
        proc = subprocess.Popen([client, "--port", str(port), "127.0.0.1", "/"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(10)
                request = b""
                while b"\r\n\r\n" not in request and (chunk := conn.recv(4096)):
                    request += chunk
                tour.show(tour.t("server",
                                 request=request.split(b"\r\n")[0].decode(errors="replace")))
                pid = proc.pid

                def asleep_in_a_call():
                    try:
                        return procfs.state(pid) == "S" and procfs.syscall(pid)[0] != "running"
                    except PermissionError:  # /proc/PID/syscall is not ours to read here
                        return procfs.state(pid) == "S"
                procfs.wait_until(asleep_in_a_call, 5)
                state = procfs.state(pid)
                try:
                    line, call = procfs.syscall(pid)
                except PermissionError as e:
                    line, call = f"unreadable ({e.strerror})", "?"
                number_and_fd = line.split()[:2]  # "45 0x3": recvfrom, on descriptor 3
                seen = (f"{call}({int(number_and_fd[1], 16)}, ...)" if len(number_and_fd) == 2
                        and number_and_fd[0].isdigit() else call)
                tour.show(f"/proc/{pid}/stat:    state {state}")
                tour.show(f"/proc/{pid}/syscall: {' '.join(number_and_fd)} ...   -> {seen}")
                tour.show(f"/proc/{pid}/wchan:   {procfs.wchan(pid)}")
                cpu, switches, waited = (procfs.cpu_seconds(pid), procfs.context_switches(pid),
                                         time.monotonic())
                time.sleep(seconds)
                cpu = procfs.cpu_seconds(pid) - cpu
                switches = procfs.context_switches(pid) - switches
                waited = time.monotonic() - waited
                still = procfs.state(pid)
            # The connection is closed: the client's recv() returns 0, end of file.
            out, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    figures = tour.t("blocked", call=call, state=state, cpu=cpu / waited * 100, seconds=waited,
                     switches=switches)
    tour.show(figures)
    tour.show(tour.t("woken", code=proc.returncode, bytes=len(out)))
    if err:
        tour.show(f"!! stderr: {err.decode(errors='replace').strip()}")
    ok = (state == still == "S" and call in ("recvfrom", "?") and cpu / waited < 0.05
          and proc.returncode == 0 and out == b"")
    return ok, figures
