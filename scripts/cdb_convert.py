#!/usr/bin/env python3
"""cdb_convert.py: the mechanical part of moving a central/cstore*.c file from sqlite3_*
to the neutral statements of central/cdb.h (docs/postgresql-backend.md, "Next" 2).
Usage: scripts/cdb_convert.py central/cstore_x.c ...  (edits in place; then fix by hand
what it leaves: last_insert_rowid -> RETURNING id, cstore_run_i64, blobs, SQL dialect;
build, clang-format, and run the file's tests on both backends)."""
import re,sys
for p in sys.argv[1:]:
    s=open(p).read()
    s=s.replace('#include <sqlite3.h>\n','')
    s=s.replace('sqlite3_stmt *','cdb_stmt *')
    s=re.sub(r'asr_sql_cached\(&st->sql, (CSTORE_SLOTS_\w+ \+ \(size_t\)id), (\w+)\[id\], out\)', r'cdb_prepare(st->db, \1, \2[id], out)', s)
    s=re.sub(r'sqlite3_bind_text\((\w+), (\d+), (.+?), -1, SQLITE_(?:STATIC|TRANSIENT)\)', r'cdb_bind_text(\1, \2, \3)', s)
    s=s.replace('sqlite3_bind_int64(','cdb_bind_i64(')
    s=s.replace('asr_sql_bind_opt_i64(','cdb_bind_opt_i64(')
    s=s.replace('asr_sql_bind_opt(','cdb_bind_text(')
    s=re.sub(r'cstore_x_row\(st, (\w+), ', r'cdb_step(\1, ', s)
    s=re.sub(r'cstore_x_run\(st, (\w+), ', r'cdb_run(\1, ', s)
    s=s.replace('cstore_x_done(','cdb_reset(')
    s=s.replace('sqlite3_column_int64(','cdb_col_i64(')
    s=s.replace('sqlite3_column_int(','(int)cdb_col_i64(')
    s=s.replace('asr_sql_col_text(','cdb_col_text(')
    s=s.replace('asr_sql_col_cut(','cdb_col_cut(')
    s=re.sub(r'sqlite3_column_type\((\w+), (\d+)\) != SQLITE_NULL', r'!cdb_col_null(\1, \2)', s)
    s=s.replace('sqlite3_changes(st->sql.db)','cdb_changes(s)')
    open(p,'w').write(s)
