"""A real HTTP server on 127.0.0.1 serving a hub folder, with range requests and injectable faults:
truncated bodies, extra bytes, redirects, raw replies (a bad status line, a broken chunked body) and
replies dripped a byte at a time. Everything it does stops by itself."""

import http.server
import os
import re
import threading
import time

DRIP_LIMIT_SECONDS = 30  # a dripping reply stops by itself even if the client never gives up


class HubHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass

    def do_GET(self):
        server = self.server
        server.requests.append((self.path, self.headers.get("Range")))
        if self.path in server.raw_replies:  # whatever bytes the test wants, then hang up
            self.wfile.write(server.raw_replies[self.path])
            self.close_connection = True
            return
        if self.path in server.redirects:
            self.send_response(302)
            self.send_header("Location", server.redirects[self.path])
            self.end_headers()
            return
        path = os.path.join(server.folder, self.path.lstrip("/"))
        if ".." in self.path or not os.path.isfile(path):
            self.send_error(404)
            return
        with open(path, "rb") as f:
            data = f.read()
        if self.path in server.drips:
            self.drip(data, *server.drips[self.path])
            return
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if match and server.ranges:
            start = int(match.group(1))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        extra = server.extra_bytes.get(self.path, 0)
        self.send_header("Content-Length", str(len(body) + extra))
        self.end_headers()
        if server.truncations.get(self.path, 0) > 0:  # promise everything, send half, hang up
            server.truncations[self.path] -= 1
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        for i in range(0, len(body), 1 << 14):
            self.wfile.write(body[i:i + (1 << 14)])
            time.sleep(server.delay)
        self.wfile.write(b"\0" * extra)

    def drip(self, body, interval, fast_bytes):
        """The whole reply (status line, headers, body): fast_bytes at once, then one byte per interval."""
        reply = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        self.close_connection = True
        stop = time.monotonic() + DRIP_LIMIT_SECONDS
        try:
            self.wfile.write(reply[:fast_bytes])
            for i in range(fast_bytes, len(reply)):
                if time.monotonic() > stop:
                    return
                self.wfile.write(reply[i:i + 1])
                time.sleep(interval)
        except OSError:  # the client gave up: what the test waits for
            return


class HubServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, folder):
        super().__init__(("127.0.0.1", 0), HubHandler)
        self.folder = folder
        self.requests, self.truncations, self.redirects = [], {}, {}
        self.ranges, self.delay, self.extra_bytes = True, 0.0, {}
        self.raw_replies = {}  # path -> bytes sent instead of a reply
        self.drips = {}  # path -> (seconds between bytes, bytes sent at once first)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self):
        if self.thread.is_alive():
            self.shutdown()
            self.server_close()
