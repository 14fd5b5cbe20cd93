#!/usr/bin/env python3
"""faultserver.py: a small HTTP(S) reverse proxy that injects faults, for the uplink tests.

It listens on --listen ADDR:PORT (TLS with --cert/--key) and forwards each request to
--upstream URL (asr-central; its certificate checked against --ca), except that the first
--fail K requests to the fault path (--path, default POST /v1/batches) get a fault instead:

  --status 500            answer this status (default 500), with an {"error": ...} body
  --retry-after N         ... and a Retry-After: N header
  --close                 ... or read the request and close the connection without answering
  --delay A[-B]           sleep A (or a random A..B) seconds before forwarding every request
  --delay-after A[-B]     sleep after the upstream answered, before answering the agent (the
                          window between the central's commit and the agent's ack)
  --answer CODE           no upstream: answer every request to the path with CODE and a
                          stand-in body (for benchmarks and tests without a central)
  --client-ca F           require a TLS client certificate signed by the CA in F
  --capture DIR           keep each request body of the path as DIR/NNNNNN.body (+ .json
                          with the method, path, headers and the answer)

Every request is logged as one JSON line in --log: {"n", "t" (start), "end", "method",
"path", "action" ("fault 503", "close", "forward 200", "answer 200", "upstream-error"),
"status", "len", "batch_id"}. --ready FILE is created once the port is listening.
Stop it with SIGTERM. Python standard library only."""

import argparse
import gzip
import http.client
import json
import os
import random
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'upgrade',
       'host', 'content-length'}


def span(text):
    """'0.5' -> (0.5, 0.5); '0.1-0.8' -> (0.1, 0.8)."""
    if not text:
        return (0.0, 0.0)
    a, _, b = text.partition('-')
    return (float(a), float(b or a))


def pick(r):
    return r[0] if r[0] == r[1] else random.uniform(r[0], r[1])


class State:
    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.Lock()
        self.n = 0
        self.faults = 0
        self.logf = open(opts.log, 'a', buffering=1) if opts.log else None

    def next(self, is_path):
        """Returns (request number, inject a fault?)."""
        with self.lock:
            self.n += 1
            fault = False
            if is_path and self.faults < self.opts.fail:
                self.faults += 1
                fault = True
            return self.n, fault

    def log(self, rec):
        if self.logf:
            with self.lock:
                self.logf.write(json.dumps(rec) + '\n')


def batch_id(body, headers):
    """The batch id of a (gzip) JSON batch, or None."""
    try:
        if (headers.get('Content-Encoding') or '').lower() == 'gzip':
            body = gzip.decompress(body)
        return json.loads(body.decode('utf-8')).get('batch_id')
    except Exception:  # noqa: BLE001 - any junk: no id
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'faultserver'

    def log_message(self, fmt, *args):  # quiet
        pass

    def read_body(self):
        n = int(self.headers.get('Content-Length') or 0)
        chunks = []
        while n > 0:
            c = self.rfile.read(min(n, 1 << 20))
            if not c:
                break
            chunks.append(c)
            n -= len(c)
        return b''.join(chunks)

    def reply(self, status, body, extra=None):
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def handle_any(self):
        st = self.server.state
        o = st.opts
        t0 = time.time()
        body = self.read_body()
        is_path = self.command == o.method and self.path.split('?')[0] == o.path
        n, fault = st.next(is_path)
        rec = {'n': n, 't': t0, 'method': self.command, 'path': self.path, 'len': len(body),
               'batch_id': batch_id(body, self.headers) if is_path else None}
        if is_path and o.capture:
            self.capture(n, body)
        if fault and o.close:
            rec.update(action='close', status=0, end=time.time())
            st.log(rec)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault:
            extra = {'Retry-After': str(o.retry_after)} if o.retry_after is not None else {}
            self.reply(o.status, json.dumps({'error': 'injected fault %d' % n}).encode(), extra)
            rec.update(action='fault %d' % o.status, status=o.status, end=time.time())
            st.log(rec)
            return
        time.sleep(pick(o.delay))
        if o.answer and is_path:
            ans = {'batch_id': rec['batch_id'], 'status': 'stored', 'readings': 0}
            self.reply(o.answer, json.dumps(ans).encode())
            rec.update(action='answer %d' % o.answer, status=o.answer, end=time.time())
            st.log(rec)
            return
        self.forward(body, rec)

    def forward(self, body, rec):
        st = self.server.state
        o = st.opts
        try:
            status, headers, data = self.server.upstream(self.command, self.path, body,
                                                         self.headers)
        except (OSError, http.client.HTTPException) as e:
            self.reply(502, json.dumps({'error': 'upstream: %s' % e}).encode())
            rec.update(action='upstream-error', status=502, end=time.time(), error=str(e))
            st.log(rec)
            return
        time.sleep(pick(o.delay_after))
        extra = {k: v for k, v in headers if k.lower() in ('retry-after',)}
        try:
            self.reply(status, data, extra)
        finally:
            rec.update(action='forward %d' % status, status=status, end=time.time())
            st.log(rec)

    def capture(self, n, body):
        d = self.server.state.opts.capture
        with open(os.path.join(d, '%06d.body' % n), 'wb') as f:
            f.write(body)
        meta = {'method': self.command, 'path': self.path, 'headers': dict(self.headers)}
        with open(os.path.join(d, '%06d.json' % n), 'w') as f:
            json.dump(meta, f)

    do_GET = handle_any
    do_POST = handle_any
    do_PUT = handle_any
    do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, state, server_ctx, upstream_url, upstream_ctx):
        self.state = state
        self.server_ctx = server_ctx
        self.up = urllib.parse.urlsplit(upstream_url) if upstream_url else None
        self.upstream_ctx = upstream_ctx
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        # the TLS handshake runs here, in the request's thread, not in accept()
        if self.server_ctx:
            try:
                request = self.server_ctx.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return
        super().finish_request(request, client_address)

    def upstream(self, method, path, body, headers):
        if not self.up:
            raise OSError('no --upstream')
        host, port = self.up.hostname, self.up.port
        if self.up.scheme == 'https':
            c = http.client.HTTPSConnection(host, port or 443, timeout=120,
                                            context=self.upstream_ctx)
        else:
            c = http.client.HTTPConnection(host, port or 80, timeout=120)
        try:
            fwd = {k: v for k, v in headers.items() if k.lower() not in HOP}
            c.request(method, path, body=body, headers=fwd)
            r = c.getresponse()
            return r.status, r.getheaders(), r.read()
        finally:
            c.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--listen', required=True, help='ADDR:PORT')
    p.add_argument('--cert')
    p.add_argument('--key')
    p.add_argument('--client-ca', help='require a client certificate signed by this CA')
    p.add_argument('--upstream', help='URL of the real central')
    p.add_argument('--ca', help='CA file for the upstream certificate')
    p.add_argument('--method', default='POST')
    p.add_argument('--path', default='/v1/batches')
    p.add_argument('--fail', type=int, default=0, help='fault the first K requests')
    p.add_argument('--status', type=int, default=500)
    p.add_argument('--retry-after', type=int)
    p.add_argument('--close', action='store_true')
    p.add_argument('--delay', type=span, default=(0.0, 0.0))
    p.add_argument('--delay-after', type=span, default=(0.0, 0.0))
    p.add_argument('--answer', type=int, default=0)
    p.add_argument('--capture')
    p.add_argument('--log')
    p.add_argument('--ready')
    o = p.parse_args()
    addr, _, port = o.listen.rpartition(':')
    server_ctx = None
    if o.cert:
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(o.cert, o.key)
        if o.client_ca:
            server_ctx.verify_mode = ssl.CERT_REQUIRED
            server_ctx.load_verify_locations(cafile=o.client_ca)
    up_ctx = ssl.create_default_context(cafile=o.ca) if o.ca else ssl.create_default_context()
    if o.capture:
        os.makedirs(o.capture, exist_ok=True)
    srv = Server((addr, int(port)), State(o), server_ctx, o.upstream, up_ctx)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if o.ready:
        open(o.ready, 'w').close()
    try:
        srv.serve_forever(poll_interval=0.1)
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
