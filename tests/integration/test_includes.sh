#!/bin/sh
# test_includes.sh: scripts/check-includes.py finds the circles it promises to find and
# passes the shapes the project uses on purpose: small trees written here, then the
# project's own tree. Pure text checks: no build, no network.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
itest_init includes
CHK="$top_srcdir/scripts/check-includes.py"

# tree NAME FILE CONTENT [FILE CONTENT]...: writes a small source tree under $TMPD/NAME.
tree()
{
  _t=$TMPD/$1
  shift
  while [ $# -ge 2 ]; do
    mkdir -p "$(dirname "$_t/$1")"
    printf '%s\n' "$2" >"$_t/$1"
    shift 2
  done
}

# fails NAME WORDS: the check exits 1 on tree NAME and its message holds WORDS.
fails()
{
  python3 "$CHK" "$TMPD/$1" >"$TMPD/$1.out" 2>&1
  _rc=$?
  [ "$_rc" = 1 ] && grep -q "$2" "$TMPD/$1.out" || { show "$TMPD/$1.out"; return 1; }
}

passes()
{
  python3 "$CHK" "$TMPD/$1" >"$TMPD/$1.out" 2>&1 || { show "$TMPD/$1.out"; return 1; }
}

# two modules that include each other's header
tree modules m/a.h 'int a(void);' m/a.c '#include "m/a.h"
#include "m/b.h"
int a(void) { return b(); }' m/b.h 'int b(void);' m/b.c '#include "m/b.h"
#include "m/a.h"
int b(void) { return 1; }'
check "a circle of two modules' includes fails" fails modules 'circle between m/a <-> m/b'

# one header declares the functions of two files that call each other (ccli.h, ccli.c and
# ccli_rp.c before issue 12)
tree hidden c/cli.h 'int cli_run(void);
void cli_error(const char *m);' c/cli.c '#include "c/cli.h"
void cli_error(const char *m) { (void)m; }
int main(void) { return cli_run(); }' c/cli_rp.c '#include "c/cli.h"
int cli_run(void) { cli_error("x"); return 0; }'
check "two files calling each other through one header fail" \
  fails hidden 'circle between files c/cli.c <-> c/cli_rp.c'

# through a header included by a header (sqlutil.h -> store.h)
tree deep s/store.h 'void store_fail(void);' s/util.h '#include "s/store.h"
void util_run(void);' s/util.c '#include "s/util.h"
void util_run(void) { store_fail(); }' s/store.c '#include "s/store.h"
#include "s/util.h"
void store_fail(void) { }
void store_save(void) { util_run(); }'
check "a circle through a header's own includes fails" \
  fails deep 'circle between files s/store.c <-> s/util.c'

# what the project does on purpose: one interface with a POSIX and a Windows file that
# each call their own functions, and a store split over files that borrow its handle
# through store_int.h while the store's schema names their SQL
tree ok p/plat.h 'void plat_init(void);
void plat_fini(void);' p/plat_posix.c '#include "p/plat.h"
void plat_init(void) { plat_fini(); }
void plat_fini(void) { }' p/plat_win.c '#include "p/plat.h"
void plat_init(void) { plat_fini(); }
void plat_fini(void) { }' d/db.h 'typedef struct db db;' d/db_int.h '#include "d/db.h"
int db_run(db *d);' d/db.c '#include "d/db_int.h"
#include "d/meters.h"
static const char *steps[] = {meters_sql};
int db_run(db *d) { (void)d; return steps[0] != 0; }' d/meters.h '#include "d/db.h"
extern const char meters_sql[];
int meters_add(db *d);' d/meters.c '#include "d/meters.h"
#include "d/db_int.h"
const char meters_sql[] = "CREATE TABLE m (x)";
int meters_add(db *d) { return db_run(d); }'
check "two platform files, and files borrowing a handle through X_int.h, pass" passes ok

check "the project's own tree has no circle" python3 "$CHK" "$top_srcdir"
finish
