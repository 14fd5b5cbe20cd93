#!/usr/bin/env python3
"""orders_feed.py: the simulated fleet of test_orders.sh, one day's batch per agent.

  orders_feed.py day URL AGENTS.json DAY0 DAY   sends day DAY's readings of every agent
  orders_feed.py level SERIAL INDEX DAY          prints that supply's level on day DAY

AGENTS.json maps a site name to {"agent": id, "secret": hex}. DAY0 is the epoch day of
simulated day 0. Every level is computed from the fleet below, so the test knows when each
order is due. A supply is replaced (level back to max) the day after it would go below 0,
or on its "early" day (while it still has plenty left)."""
import gzip
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'load'))
import asrload  # noqa: E402

TONER = ('toner', 'black', 'Black Toner Cartridge')
WASTE = ('wasteToner', None, 'Waste Toner Container')
DRUM = ('opc', None, 'Drum Unit')

# site -> devices: serial, model, last day it reports, supplies
# supply: index, (type, colorant, description), max, start level, use per day, early day
FLEET = {
    'acme': [
        ('OR0001', 'Laser 500', 99, [(1, TONER, 10000, 9000, 300, None),
                                     (2, WASTE, 1000, 100, 10, None),
                                     (3, DRUM, 100, 90, 1, None)]),
        ('OR0002', 'Laser 500', 99, [(1, TONER, 10000, 10000, 200, 20)]),
        ('OR0003', 'Laser 900', 99, [(1, TONER, 1000, 1000, 400, None)]),
    ],
    'beta': [
        ('BE0001', 'Laser 300', 9, [(1, TONER, 10000, 5000, 100, None)]),
        ('BE0002', 'Laser 300', 9, [(1, TONER, 10000, 6000, 100, None)]),
    ],
    # its contact's mail server refuses the recipient for good (5xx)
    'gamma': [
        ('GA0001', 'Laser 100', 2, [(1, TONER, 10000, 8000, 100, None)]),
    ],
}


def level(sup, day):
    """The level of supply sup on simulated day: what remains of a consumed supply; for a
    receptacle the room left (RFC 3805), which falls as its fill grows."""
    _, (kind, _, _), mx, start, use, early = sup
    if kind == 'wasteToner':
        return max(0, mx - min(mx, start + use * day))
    lv = start
    for d in range(1, day + 1):
        lv -= use
        if lv < 0 or d == early:
            lv = mx
    return lv


def batch(site, cred, day0, day):
    devs, rds = [], []
    for serial, model, last, sups in FLEET[site]:
        if day > last:
            continue
        n = len(devs)
        devs.append({'key': 'serial:' + serial, 'serial': serial, 'ip': '192.0.2.%d' % (n + 10),
                     'vendor': 'Test', 'model': model, 'state': 'active',
                     'status': {'printer': 'idle', 'errors': []},
                     'supplies': [{'index': i, 'type': k, 'colorant': c, 'description': d,
                                   'class': 'receptacle' if k == 'wasteToner' else 'consumed',
                                   'unit': 'impressions'}
                                  for i, (k, c, d), _, _, _, _ in sups]})
        t = (day0 + day) * 86400 + 8 * 3600
        rds.append({'device': n, 't': t, 'page_count': 1000 + day * 100,
                    'levels': [[s[0], level(s, day), s[2], level(s, day) * 100 // s[2]]
                               for s in sups]})
    return {'protocol': 1, 'batch_id': '%s-%010d' % (cred['agent'], day + 1),
            'agent_id': cred['agent'], 'agent_version': '0.1.0',
            'created_at': (day0 + day) * 86400 + 9 * 3600, 'devices': devs, 'readings': rds,
            'events': []}


def main():
    if sys.argv[1] == 'level':
        serial, idx, day = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        for devs in FLEET.values():
            for s, _, _, sups in devs:
                for sup in sups:
                    if s == serial and sup[0] == idx:
                        print(level(sup, day))
        return 0
    url, agents, day0, day = sys.argv[2], json.load(open(sys.argv[3])), int(sys.argv[4]), \
        int(sys.argv[5])
    for site, cred in sorted(agents.items()):
        body = json.dumps(batch(site, cred, day0, day)).encode()
        gz = gzip.compress(body)
        st, rb, _ = asrload.request(url, None, 'POST', '/v1/batches', gz,
                                    asrload.signed_headers(cred['agent'], cred['secret'],
                                                           '/v1/batches', gz))
        if st != 200:
            print('day %d site %s: HTTP %s %s' % (day, site, st, rb), file=sys.stderr)
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
