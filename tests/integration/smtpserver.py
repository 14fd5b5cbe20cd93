#!/usr/bin/python3
"""smtpserver.py: a real SMTP server for the tests (Debian's python3-aiosmtpd) on loopback.

    smtpserver.py --addr 127.55.25.1 --dir DIR [--starttls CERT KEY] [--smtps CERT KEY]
                  [--auth USER:PASSWORD]

Listens on a free port (port 0) and writes it to DIR/port once it accepts connections.
Each accepted message is written to DIR/mail-N.eml (the bytes received, dot-unstuffed, as
the server got them) and DIR/mail-N.json (envelope: mail_from, rcpt_tos, authenticated).
Scripted refusals, chosen by the test through the recipient or the message:
  - a recipient starting with "refuse" gets 550 5.1.1 (permanent) to RCPT TO
  - a recipient starting with "defer" gets 451 4.3.0 (try again later) to RCPT TO
  - a message holding the header "X-Test-Refuse: yes" gets 554 5.6.0 to the end of DATA
Stops on SIGTERM. Binds only the loopback address given.
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, directory):
        self.dir = directory
        self.n = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if address.startswith("defer"):
            return "451 4.3.0 <%s>: try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or b""
        if b"\r\nX-Test-Refuse: yes\r\n" in b"\r\n" + raw:
            return "554 5.6.0 message refused"
        self.n += 1
        base = os.path.join(self.dir, "mail-%d" % self.n)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(raw)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "authenticated": bool(session.authenticated),
        }
        with open(base + ".json", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 2.0.0 queued as %d" % self.n


def tls_context(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == user
              and auth_data.password.decode() == password)
        return AuthResult(success=ok, handled=False)
    return check


async def serve(args):
    handler = Handler(args.dir)
    kw = {"decode_data": False, "hostname": "smtp.test"}
    if args.starttls:
        kw["tls_context"] = tls_context(*args.starttls)
        kw["require_starttls"] = True
    if args.auth:
        user, password = args.auth.split(":", 1)
        kw["authenticator"] = authenticator(user, password)
        kw["auth_required"] = True
        kw["auth_require_tls"] = bool(args.starttls or args.smtps)
    ssl_ctx = tls_context(*args.smtps) if args.smtps else None
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, **kw), args.addr, 0, ssl=ssl_ctx)
    port = server.sockets[0].getsockname()[1]
    with open(os.path.join(args.dir, "port.tmp"), "w") as f:
        f.write("%d\n" % port)
    os.rename(os.path.join(args.dir, "port.tmp"), os.path.join(args.dir, "port"))
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    loop.add_signal_handler(signal.SIGINT, stop.set_result, None)
    await stop
    server.close()
    await server.wait_closed()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--addr", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--smtps", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--auth")
    args = p.parse_args()
    if not args.addr.startswith("127."):
        sys.exit("smtpserver.py: loopback addresses only")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
