#!/usr/bin/env python3
"""ctrl_c.py OUT DELAY COMMAND...: runs COMMAND on a new pseudo-terminal, as a user would,
types Ctrl-C into it after DELAY seconds (the terminal then sends SIGINT to the command),
and writes everything the command printed to OUT and "EXIT SECONDS" to OUT.rc: its exit
status and how long it took to end after the Ctrl-C. Gives up (kill -9) after 30 s."""
import os
import pty
import select
import sys
import time

out_path, delay, argv = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out, t0, sent = b'', time.time(), None
while time.time() - t0 < 30:
    if sent is None and time.time() - t0 > delay:
        os.write(fd, b'\x03')
        sent = time.time()
    if select.select([fd], [], [], 0.2)[0]:
        try:
            data = os.read(fd, 4096)
        except OSError:  # the command ended: the terminal is gone
            break
        if not data:
            break
        out += data
else:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
with open(out_path, 'wb') as f:
    f.write(out)
with open(out_path + '.rc', 'w') as f:
    f.write('%d %.1f\n' % (os.waitstatus_to_exitcode(status), time.time() - (sent or t0)))
