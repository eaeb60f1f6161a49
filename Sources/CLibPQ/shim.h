#ifndef TALLY_CLIBPQ_SHIM_H
#define TALLY_CLIBPQ_SHIM_H

// libpq's C interface as Tally uses it: the types, constants and function
// signatures of libpq-fe.h (libpq.so.5, whose ABI PostgreSQL has kept stable
// since 8.x), declared here rather than included, so that:
//
// - building Tally needs no libpq headers (no libpq-dev, no Homebrew paths);
// - nothing links against libpq: Sources/Tally/Postgres/LibPQ.swift loads the
//   library with dlopen the first time a PostgreSQL store is opened. A program
//   that only uses SQLite never maps libpq and the ~20 libraries it pulls in
//   (TLS, Kerberos, LDAP), which is most of `tally`'s start-up time otherwise.
//
// Only what Tally calls is declared. Each function is a pointer type
// (`tally_PQ..._fn`), resolved by name with dlsym; enum values are libpq's.

#include <stddef.h>

typedef unsigned int Oid;

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;
typedef struct pg_cancel PGcancel;
// Tally never reads a notification's fields, it only frees it.
typedef struct pgNotify PGnotify;

typedef enum {
    CONNECTION_OK,
    CONNECTION_BAD
    // libpq has more values, used only by non-blocking connects.
} ConnStatusType;

typedef enum {
    PGRES_EMPTY_QUERY = 0,
    PGRES_COMMAND_OK,
    PGRES_TUPLES_OK,
    PGRES_COPY_OUT,
    PGRES_COPY_IN,
    PGRES_BAD_RESPONSE,
    PGRES_NONFATAL_ERROR,
    PGRES_FATAL_ERROR,
    PGRES_COPY_BOTH,
    PGRES_SINGLE_TUPLE,
    PGRES_PIPELINE_SYNC,
    PGRES_PIPELINE_ABORTED
} ExecStatusType;

typedef enum {
    PQTRANS_IDLE,
    PQTRANS_ACTIVE,
    PQTRANS_INTRANS,
    PQTRANS_INERROR,
    PQTRANS_UNKNOWN
} PGTransactionStatusType;

typedef struct _PQconninfoOption {
    char *keyword;
    char *envvar;
    char *compiled;
    char *val;
    char *label;
    char *dispchar;
    int dispsize;
} PQconninfoOption;

typedef void (*PQnoticeReceiver)(void *arg, const PGresult *res);

// The field codes of PQresultErrorField (postgres_ext.h's PG_DIAG_* character
// macros, which Swift cannot import).
enum {
    TALLY_PG_DIAG_SEVERITY_NONLOCALIZED = 'V',
    TALLY_PG_DIAG_SQLSTATE = 'C',
    TALLY_PG_DIAG_MESSAGE_PRIMARY = 'M',
    TALLY_PG_DIAG_MESSAGE_DETAIL = 'D',
    TALLY_PG_DIAG_MESSAGE_HINT = 'H',
    TALLY_PG_DIAG_STATEMENT_POSITION = 'P',
    TALLY_PG_DIAG_CONTEXT = 'W',
    TALLY_PG_DIAG_SCHEMA_NAME = 's',
    TALLY_PG_DIAG_TABLE_NAME = 't',
    TALLY_PG_DIAG_COLUMN_NAME = 'c',
    TALLY_PG_DIAG_CONSTRAINT_NAME = 'n'
};

// Connections
typedef PGconn *(*tally_PQconnectdbParams_fn)(const char *const *keywords, const char *const *values, int expand_dbname);
typedef void (*tally_PQfinish_fn)(PGconn *conn);
typedef void (*tally_PQreset_fn)(PGconn *conn);
typedef ConnStatusType (*tally_PQstatus_fn)(const PGconn *conn);
typedef PGTransactionStatusType (*tally_PQtransactionStatus_fn)(const PGconn *conn);
typedef char *(*tally_PQerrorMessage_fn)(const PGconn *conn);
typedef int (*tally_PQsocket_fn)(const PGconn *conn);
typedef int (*tally_PQbackendPID_fn)(const PGconn *conn);
typedef PQconninfoOption *(*tally_PQconninfoParse_fn)(const char *conninfo, char **errmsg);
typedef void (*tally_PQconninfoFree_fn)(PQconninfoOption *connOptions);
typedef PQnoticeReceiver (*tally_PQsetNoticeReceiver_fn)(PGconn *conn, PQnoticeReceiver proc, void *arg);

// Queries
typedef PGresult *(*tally_PQexec_fn)(PGconn *conn, const char *query);
typedef PGresult *(*tally_PQexecParams_fn)(PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
                                           const char *const *paramValues, const int *paramLengths,
                                           const int *paramFormats, int resultFormat);
typedef PGresult *(*tally_PQprepare_fn)(PGconn *conn, const char *stmtName, const char *query, int nParams,
                                        const Oid *paramTypes);
typedef PGresult *(*tally_PQexecPrepared_fn)(PGconn *conn, const char *stmtName, int nParams,
                                             const char *const *paramValues, const int *paramLengths,
                                             const int *paramFormats, int resultFormat);
typedef int (*tally_PQsendQueryParams_fn)(PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
                                          const char *const *paramValues, const int *paramLengths,
                                          const int *paramFormats, int resultFormat);
typedef int (*tally_PQsetSingleRowMode_fn)(PGconn *conn);
typedef PGresult *(*tally_PQgetResult_fn)(PGconn *conn);
typedef int (*tally_PQconsumeInput_fn)(PGconn *conn);
typedef PGnotify *(*tally_PQnotifies_fn)(PGconn *conn);
typedef int (*tally_PQputCopyEnd_fn)(PGconn *conn, const char *errormsg);
typedef int (*tally_PQgetCopyData_fn)(PGconn *conn, char **buffer, int async);
typedef PGcancel *(*tally_PQgetCancel_fn)(PGconn *conn);
typedef void (*tally_PQfreeCancel_fn)(PGcancel *cancel);
typedef int (*tally_PQcancel_fn)(PGcancel *cancel, char *errbuf, int errbufsize);

// Results
typedef void (*tally_PQclear_fn)(PGresult *res);
typedef void (*tally_PQfreemem_fn)(void *ptr);
typedef ExecStatusType (*tally_PQresultStatus_fn)(const PGresult *res);
typedef char *(*tally_PQresultErrorMessage_fn)(const PGresult *res);
typedef char *(*tally_PQresultErrorField_fn)(const PGresult *res, int fieldcode);
typedef int (*tally_PQntuples_fn)(const PGresult *res);
typedef int (*tally_PQnfields_fn)(const PGresult *res);
typedef char *(*tally_PQfname_fn)(const PGresult *res, int field_num);
typedef Oid (*tally_PQftype_fn)(const PGresult *res, int field_num);
typedef char *(*tally_PQgetvalue_fn)(const PGresult *res, int tup_num, int field_num);
typedef int (*tally_PQgetlength_fn)(const PGresult *res, int tup_num, int field_num);
typedef int (*tally_PQgetisnull_fn)(const PGresult *res, int tup_num, int field_num);
typedef char *(*tally_PQcmdStatus_fn)(PGresult *res);
typedef char *(*tally_PQcmdTuples_fn)(PGresult *res);

#endif
