#!/bin/sh
# test_docs.sh: the README says what the repository holds. Every file the "Source layout"
# table names exists; no feature is announced as "coming" when it is there; a guide the
# README points to is in the repository; the Quick start and scripts/test.sh say what they
# install and write. Pure text checks: no network, no simulator.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
itest_init docs
R="$top_srcdir/README.md"

check "README: every file the Source layout table names exists" python3 - "$top_srcdir" <<'EOF'
import glob, os, re, sys
top = sys.argv[1]
text = open(os.path.join(top, 'README.md'), encoding='utf-8').read()
layout = text.split('## Source layout', 1)[1].split('\n## ', 1)[0]
missing = []
for line in layout.splitlines():
    m = re.match(r'\| `([^`]+)/` \|(.*)\|\s*$', line)
    if not m:
        continue
    folder, cell = m.group(1), m.group(2)
    for name in re.findall(r'`([^` ]+\.(?:c|h|md|sh|py|service|conf|wxs))`', cell):
        # a name is in the row's folder, or a path from the top; globs must match a file
        if not any(glob.glob(os.path.join(top, p)) for p in (folder + '/' + name, name)):
            missing.append(folder + '/' + name)
if missing:
    print('#   named but missing: %s' % ', '.join(missing))
sys.exit(1 if missing else 0)
EOF
check "README and packaging/README announce nothing as coming" \
  sh -c "! grep -niE 'are coming|is coming|arrives with issue' '$R' '$top_srcdir/packaging/README.md'"
check "README names no style guide the repository does not hold" \
  sh -c "! grep -qiE 'STYLE guide|STYLE\\.md' '$R' || ls '$top_srcdir'/STYLE* '$top_srcdir'/docs/STYLE* >/dev/null 2>&1"
check "README says where a source build keeps its state" grep -q "/usr/local/var/lib/asr-agent" "$R"
check "README says what scripts/test.sh installs and writes" \
  sh -c "grep -qi 'chromium' '$R' && grep -qi 'wine' '$R' && grep -qE '[0-9]+ MB' '$R'"
check "scripts/test.sh says at its start what it installs and writes" \
  sh -c "grep -qi 'chromium' '$top_srcdir/scripts/test.sh' && grep -qE '[0-9]+ MB' '$top_srcdir/scripts/test.sh'"
check ".gitignore ignores _build-* build directories" grep -qx '/_build-\*/' "$top_srcdir/.gitignore"

finish
