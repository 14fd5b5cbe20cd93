#!/usr/bin/env python3
"""promises_feed.py: the fleet of test_promises.sh, one day's batch for the site's agent.

  promises_feed.py day URL AGENT.json DAY0 DAY   sends day DAY's readings (signed, gzip)

AGENT.json is {"agent": id, "secret": hex}. DAY0 is the epoch day of simulated day 0 (a
Monday). Every level is computed from the fleet below, so the test knows what each order
holds. A supply is replaced (level back to max) the day after it would go below 0."""
import gzip
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'load'))
import asrload  # noqa: E402


def steady(use):
    return lambda day: use


def hot_then_cold(day):
    """2.5 cartridges of 1000 a week for two calendar weeks, then 0.17 a week."""
    return 2500 / 7 if day < 14 else 170 / 7


def job(day):
    """100 a day, and 2000 more on the print job's days 20-22."""
    return 2100 if 20 <= day <= 22 else 100


# serial, model, supplies: (index, type, printer's colorant, agent's standard colorant (None:
# an agent that does not say), description, max, start level, use of a day)
FLEET = [
    ('NO0001', 'Laser 500', [(1, 'toner', 'Black', None, 'Black Toner', 10000, 9000, steady(300)),
                             (2, 'wasteToner', '', None, 'Waste Toner', 1000, 900, steady(10))]),
    ('NO0002', 'Laser 500', [(1, 'toner', 'schwarz', 'black', 'Toner schwarz', 10000, 9000,
                              steady(300)),
                             (2, 'wasteToner', '', None, 'Resttonerbehälter', 1000, 900,
                              steady(10))]),
    ('NO0003', 'Laser 900', [(1, 'toner', 'black', 'black', 'Black Toner', 1000, 1000,
                              hot_then_cold)]),
    ('NO0004', 'Laser 700', [(1, 'toner', 'BK', 'black', 'Black Toner', 10000, 10000, job)]),
    ('NO0005', 'Laser 300', [(1, 'toner', 'black', 'black', 'Black Toner', 10000, 10000,
                              steady(50)),
                             (2, 'opc', 'black', 'black', 'Drum Unit', 100, 90, steady(1))]),
]


def level(sup, day):
    """What remains of a supply on simulated day (a waste container: its room left)."""
    _, kind, _, _, _, mx, start, use = sup
    lv = start
    for d in range(1, day + 1):
        lv -= use(d)
        if lv < 0:
            lv = mx - (-lv % mx) if kind != 'wasteToner' else mx
    return int(lv)


def batch(cred, day0, day):
    devs, rds = [], []
    for n, (serial, model, sups) in enumerate(FLEET):
        supplies = []
        for s in sups:
            desc = {'index': s[0], 'type': s[1], 'colorant': s[2], 'description': s[4],
                    'class': 'receptacle' if s[1] == 'wasteToner' else 'consumed',
                    'unit': 'impressions'}
            if s[3] is not None:
                desc['colorant_std'] = s[3]
            supplies.append(desc)
        devs.append({'key': 'serial:' + serial, 'serial': serial, 'ip': '192.0.2.%d' % (n + 40),
                     'vendor': 'Test', 'model': model, 'state': 'active',
                     'status': {'printer': 'idle', 'errors': []}, 'supplies': supplies})
        t = (day0 + day) * 86400 + 8 * 3600
        rds.append({'device': n, 't': t, 'page_count': 1000 + day * 100,
                    'levels': [[s[0], level(s, day), s[5], level(s, day) * 100 // s[5]]
                               for s in sups]})
    return {'protocol': 1, 'batch_id': '%s-%010d' % (cred['agent'], day + 1),
            'agent_id': cred['agent'], 'agent_version': '0.1.0',
            'created_at': (day0 + day) * 86400 + 9 * 3600, 'devices': devs, 'readings': rds,
            'events': []}


def main():
    url, cred, day0, day = sys.argv[2], json.load(open(sys.argv[3])), int(sys.argv[4]), \
        int(sys.argv[5])
    body = json.dumps(batch(cred, day0, day)).encode()
    gz = gzip.compress(body)
    st, rb, _ = asrload.request(url, None, 'POST', '/v1/batches', gz,
                                asrload.signed_headers(cred['agent'], cred['secret'],
                                                       '/v1/batches', gz))
    if st != 200:
        print('day %d: HTTP %s %s' % (day, st, rb), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
