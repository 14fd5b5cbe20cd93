#!/usr/bin/env python3
"""Check asr-agent's Printer-MIB model against a folder of recordings.

usage: check-recordings.py --agent PATH/asr-agent DIR [--verbose]

DIR holds <device>.snmprec recordings, an expected.tsv (one row per supply) and a
devices.tsv (one row per device), as in the shared train set (see its README.md). For
every device of expected.tsv the script runs

    asr-agent inspect --format json DIR/<device>.snmprec

and compares each supply row, and the device serial number, with what is expected:

  description  decoded_description, with the Xerox ", PN <part>;SN<serial>" suffix cut
               (the part number is then expected in part_number; "unknown" -> empty)
  type         supply_type, only where the recording has the type column (type_code);
               otherwise the agent infers it from the description and is not checked
  max, level   exactly as recorded
  percent/state from rfc_percent, the plain RFC 3805 reading (not LibreNMS's):
               a number -> percent = round half up, state ok / low (<= 10) / empty
               (level 0) / full (receptacle with level 0);
               some-remaining(-3) -> percent null, state some_remaining;
               unknown(-2) -> percent null, state unknown;
               undefined(...) -> percent null, state unknown, some_remaining or empty
  serial       devices.tsv serial_in_recording, else librenms_serial (when one is given)

Prints a table of mismatches and "N passed, M failed"; exits 1 on any mismatch, 2 on
usage errors. docs/supplies.md explains each rule.
"""

import argparse
import csv
import json
import math
import os
import re
import subprocess
import sys

LOW_PERCENT = 10  # ASR_SUPPLY_LOW_PERCENT in snmp/printer.h
RECEPTACLE_TYPES = {"wasteToner", "wasteInk", "wasteWax", "wasteWater", "wastePaper"}
PN_RE = re.compile(r",\s?PN (.*?)(;|$)")


def read_tsv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def run_inspect(agent, path):
    """The DEVICE object of `inspect --format json`, or an error string."""
    try:
        p = subprocess.run([agent, "inspect", "--format", "json", path],
                           capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, "inspect failed: %s" % e
    if p.returncode != 0:
        err = p.stderr.decode("utf-8", "replace").strip().splitlines()
        return None, "inspect exit %d: %s" % (p.returncode, err[-1] if err else "")
    try:
        doc = json.loads(p.stdout.decode("utf-8"))
    except ValueError as e:
        return None, "inspect output is not JSON: %s" % e
    if isinstance(doc, list):
        doc = doc[0] if doc else {}
    if isinstance(doc, dict) and isinstance(doc.get("device"), dict):
        doc = doc["device"]
    if not isinstance(doc, dict):
        return None, "inspect output is not a DEVICE object"
    return doc, None


def expected_description(row):
    """(description, part number or None) from the decoded description."""
    decoded = row.get("decoded_description") or row["description"]
    m = PN_RE.search(decoded)
    if not m:
        return decoded, None
    part = m.group(1).strip()
    if part.lower() in ("unknown", "none", "n/a"):
        part = ""
    return decoded[:m.start()].rstrip(), part


def to_int(s):
    try:
        return int(s)
    except (TypeError, ValueError):
        return None


def round_half_up(x):
    return int(math.floor(x + 0.5))


def is_receptacle(row, supply):
    if (row.get("class_code") or "") == "4" or supply.get("class") == "filled":
        return True
    if row.get("supply_type") in RECEPTACLE_TYPES or supply.get("type") in RECEPTACLE_TYPES:
        return True
    return "waste" in (row.get("decoded_description") or "").lower()


def expected_percent_state(row, supply):
    """(percent or None, set of accepted states) from rfc_percent."""
    rfc = (row.get("rfc_percent") or "").strip()
    if rfc.startswith("some-remaining"):
        return None, {"some_remaining"}
    if rfc.startswith("unknown"):
        return None, {"unknown"}
    if rfc.startswith("undefined"):
        return None, {"unknown", "some_remaining", "empty"}
    if rfc.startswith("other"):
        return None, {"ok"}
    try:
        value = float(rfc)
    except ValueError:
        return None, None
    pct = round_half_up(value)
    level = to_int(row.get("level"))
    if level == 0:
        return pct, {"full"} if is_receptacle(row, supply) else {"empty"}
    return pct, {"low"} if pct <= LOW_PERCENT else {"ok"}


def find_supply(dev, row):
    index = to_int(row["supply_index"])
    full = (row.get("full_index") or "").split(".")
    hr = to_int(full[0]) if len(full) == 2 else None
    for s in dev.get("supplies") or []:
        if s.get("index") == index and (hr is None or s.get("hr_index", hr) == hr):
            return s
    return None


def compare_row(dev, row):
    """List of (field, expected, got) mismatches for one expected supply row."""
    s = find_supply(dev, row)
    if s is None:
        return [("supply", "index %s" % row["supply_index"], "missing")]
    bad = []
    descr, part = expected_description(row)
    if s.get("description") != descr:
        bad.append(("description", descr, s.get("description")))
    if part is not None and (s.get("part_number") or "") != part:
        bad.append(("part_number", part, s.get("part_number")))
    if (row.get("type_code") or "").strip() and s.get("type") != row["supply_type"]:
        bad.append(("type", row["supply_type"], s.get("type")))
    for field in ("max", "level"):
        want = to_int(row.get(field))
        if want is not None and s.get(field) != want:
            bad.append((field, want, s.get(field)))
    pct, states = expected_percent_state(row, s)
    if states is None:
        bad.append(("rfc_percent", row.get("rfc_percent"), "unreadable expectation"))
        return bad
    if s.get("percent") != pct:
        bad.append(("percent", pct, s.get("percent")))
    if s.get("state") not in states:
        bad.append(("state", "/".join(sorted(states)), s.get("state")))
    return bad


def expected_serial(dev_row):
    if not dev_row:
        return ""
    return (dev_row.get("serial_in_recording") or dev_row.get("librenms_serial") or "").strip()


def check_device(agent, folder, name, rows, dev_row, verbose):
    """(passed, failed, mismatch lines) for one device."""
    dev, err = run_inspect(agent, os.path.join(folder, name + ".snmprec"))
    checks = len(rows) + (1 if expected_serial(dev_row) else 0)
    if err:
        return 0, checks, [(name, "-", "inspect", "", err)]
    passed = failed = 0
    out = []
    for row in rows:
        bad = compare_row(dev, row)
        if bad:
            failed += 1
            out.extend((name, row["supply_index"], f, str(w), str(g)) for f, w, g in bad)
        else:
            passed += 1
        if verbose:
            s = find_supply(dev, row) or {}
            print("  %-22s %3s %-40.40s %-14s %6s %6s %5s %s" % (
                name, row["supply_index"], s.get("description"), s.get("type"),
                s.get("max"), s.get("level"), s.get("percent"), s.get("state")))
    want = expected_serial(dev_row)
    if want:
        if dev.get("serial") == want:
            passed += 1
        else:
            failed += 1
            out.append((name, "-", "serial", want, str(dev.get("serial"))))
    return passed, failed, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agent", required=True, help="path to the asr-agent program")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every supply read")
    ap.add_argument("dir", help="folder with *.snmprec, expected.tsv and devices.tsv")
    args = ap.parse_args()
    exp_path = os.path.join(args.dir, "expected.tsv")
    if not os.path.isfile(exp_path) or not os.access(args.agent, os.X_OK):
        print("check-recordings: need %s and an executable --agent" % exp_path, file=sys.stderr)
        return 2
    expected = read_tsv(exp_path)
    dev_path = os.path.join(args.dir, "devices.tsv")
    devices = {r["device"]: r for r in read_tsv(dev_path)} if os.path.isfile(dev_path) else {}
    by_device = {}
    for row in expected:
        by_device.setdefault(row["device"], []).append(row)
    passed = failed = 0
    mismatches = []
    for name in sorted(by_device):
        p, f, out = check_device(args.agent, args.dir, name, by_device[name],
                                 devices.get(name), args.verbose)
        passed += p
        failed += f
        mismatches.extend(out)
    if mismatches:
        print("%-22s %5s %-12s %-40s %s" % ("device", "index", "field", "expected", "got"))
        for m in mismatches:
            print("%-22s %5s %-12s %-40.40s %s" % m)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
