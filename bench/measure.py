#!/usr/bin/env python3
"""measure.py: runs a command and prints its wall time and peak RSS as one line
   'seconds=S maxrss_kb=K exit=E'. Output of the command goes to /dev/null unless
   --keep FILE is given."""
import resource
import subprocess
import sys
import time

args = sys.argv[1:]
out = subprocess.DEVNULL
if args[:1] == ['--keep']:
    out = open(args[1], 'w')
    args = args[2:]
t0 = time.monotonic()
rc = subprocess.run(args, stdout=out, stderr=subprocess.DEVNULL).returncode
dt = time.monotonic() - t0
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print('seconds=%.3f maxrss_kb=%d exit=%d' % (dt, rss, rc))
