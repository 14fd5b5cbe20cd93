#!/bin/sh
# bench_daemon.sh (being written, issue 4)
exit 0
