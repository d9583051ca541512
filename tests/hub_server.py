"""A real HTTP server on 127.0.0.1 serving a hub folder, with range requests and injectable faults."""

import http.server
import os
import re
import threading
import time


class HubHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass

    def do_GET(self):
        server = self.server
        server.requests.append((self.path, self.headers.get("Range")))
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


class HubServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, folder):
        super().__init__(("127.0.0.1", 0), HubHandler)
        self.folder = folder
        self.requests, self.truncations, self.redirects = [], {}, {}
        self.ranges, self.delay, self.extra_bytes = True, 0.0, {}
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self):
        if self.thread.is_alive():
            self.shutdown()
            self.server_close()
