#ifndef TALLY_CLIBPQ_SHIM_H
#define TALLY_CLIBPQ_SHIM_H

// pkg-config's libpq.pc adds -I/usr/include/postgresql, making <libpq-fe.h>
// visible. Without pkg-config, Debian's header is still reachable as
// <postgresql/libpq-fe.h> (its own includes are quoted, so they resolve
// relative to that directory).
#if __has_include(<libpq-fe.h>)
#include <libpq-fe.h>
#else
#include <postgresql/libpq-fe.h>
#endif

// Swift cannot import character-literal macros such as
// `#define PG_DIAG_SQLSTATE 'C'` (postgres_ext.h), so re-export the field
// codes that PQresultErrorField needs as enum constants. Defined from the
// macros themselves, so they cannot drift from the installed headers.
enum {
    TALLY_PG_DIAG_SEVERITY_NONLOCALIZED = PG_DIAG_SEVERITY_NONLOCALIZED,
    TALLY_PG_DIAG_SQLSTATE = PG_DIAG_SQLSTATE,
    TALLY_PG_DIAG_MESSAGE_PRIMARY = PG_DIAG_MESSAGE_PRIMARY,
    TALLY_PG_DIAG_MESSAGE_DETAIL = PG_DIAG_MESSAGE_DETAIL,
    TALLY_PG_DIAG_MESSAGE_HINT = PG_DIAG_MESSAGE_HINT,
    TALLY_PG_DIAG_STATEMENT_POSITION = PG_DIAG_STATEMENT_POSITION,
    TALLY_PG_DIAG_CONTEXT = PG_DIAG_CONTEXT,
    TALLY_PG_DIAG_SCHEMA_NAME = PG_DIAG_SCHEMA_NAME,
    TALLY_PG_DIAG_TABLE_NAME = PG_DIAG_TABLE_NAME,
    TALLY_PG_DIAG_COLUMN_NAME = PG_DIAG_COLUMN_NAME,
    TALLY_PG_DIAG_CONSTRAINT_NAME = PG_DIAG_CONSTRAINT_NAME
};

#endif
