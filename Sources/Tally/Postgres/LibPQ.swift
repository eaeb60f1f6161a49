import CLibPQ

/// libpq's functions, taken from the shared library at run time.
///
/// Tally does not link libpq. It is loaded with `dlopen` the first time a PostgreSQL
/// connection is made, and never otherwise, so:
///
/// - a program that only uses SQLite, `tally` included, does not map libpq and the ~20
///   libraries it brings (TLS, Kerberos, LDAP): measured on Debian 12, that was 4 ms of every
///   `tally` invocation's start-up, and about a quarter of its instructions;
/// - building Tally needs no libpq headers: the declarations it uses are in CLibPQ's
///   `shim.h`, copied from libpq-fe.h of libpq.so.5, whose ABI is stable since PostgreSQL 8.
///
/// A machine without libpq can use every SQLite feature; opening a PostgreSQL store there
/// fails with a ``PGError`` (08001) that names the library and what to install. The members
/// are named after the C functions so that code reads like libpq's documentation:
/// `libpq.PQexec(connection, sql)`.
package struct LibPQ: @unchecked Sendable {  // immutable C function pointers
    let PQconnectdbParams: tally_PQconnectdbParams_fn
    let PQfinish: tally_PQfinish_fn
    let PQreset: tally_PQreset_fn
    let PQstatus: tally_PQstatus_fn
    let PQtransactionStatus: tally_PQtransactionStatus_fn
    let PQerrorMessage: tally_PQerrorMessage_fn
    let PQsocket: tally_PQsocket_fn
    let PQbackendPID: tally_PQbackendPID_fn
    let PQconninfoParse: tally_PQconninfoParse_fn
    let PQconninfoFree: tally_PQconninfoFree_fn
    let PQsetNoticeReceiver: tally_PQsetNoticeReceiver_fn
    let PQexec: tally_PQexec_fn
    let PQexecParams: tally_PQexecParams_fn
    let PQprepare: tally_PQprepare_fn
    let PQexecPrepared: tally_PQexecPrepared_fn
    let PQsendQueryParams: tally_PQsendQueryParams_fn
    let PQsetSingleRowMode: tally_PQsetSingleRowMode_fn
    let PQgetResult: tally_PQgetResult_fn
    let PQconsumeInput: tally_PQconsumeInput_fn
    let PQnotifies: tally_PQnotifies_fn
    let PQputCopyEnd: tally_PQputCopyEnd_fn
    let PQgetCopyData: tally_PQgetCopyData_fn
    let PQgetCancel: tally_PQgetCancel_fn
    let PQfreeCancel: tally_PQfreeCancel_fn
    let PQcancel: tally_PQcancel_fn
    let PQclear: tally_PQclear_fn
    let PQfreemem: tally_PQfreemem_fn
    let PQresultStatus: tally_PQresultStatus_fn
    let PQresultErrorMessage: tally_PQresultErrorMessage_fn
    let PQresultErrorField: tally_PQresultErrorField_fn
    let PQntuples: tally_PQntuples_fn
    let PQnfields: tally_PQnfields_fn
    let PQfname: tally_PQfname_fn
    let PQftype: tally_PQftype_fn
    let PQgetvalue: tally_PQgetvalue_fn
    let PQgetlength: tally_PQgetlength_fn
    let PQgetisnull: tally_PQgetisnull_fn
    let PQcmdStatus: tally_PQcmdStatus_fn
    let PQcmdTuples: tally_PQcmdTuples_fn

    /// File names tried in order: the major version Tally was written against (5, the only
    /// one libpq has had since 2005), then where macOS package managers keep it.
    package static let libraryNames: [String] = {
        #if os(macOS)
        return ["libpq.5.dylib", "/opt/homebrew/opt/libpq/lib/libpq.5.dylib",
                "/usr/local/opt/libpq/lib/libpq.5.dylib",
                "/Applications/Postgres.app/Contents/Versions/latest/lib/libpq.5.dylib"]
        #else
        return ["libpq.so.5"]
        #endif
    }()

    /// Loaded once per process, on first use (a `static let` is initialized exactly once,
    /// thread-safely).
    private static let loaded: Result<LibPQ, PGError> = load(firstOf: libraryNames)

    /// libpq, loading it on the first call.
    /// - Throws: ``PGError`` (08001) when the library cannot be loaded or lacks a function.
    package static func shared() throws(PGError) -> LibPQ {
        try loaded.get()
    }

    /// Loads libpq from the first of `names` the dynamic loader finds and takes every function
    /// Tally calls from it. Not cached: ``shared()`` is; tests call this with other names.
    package static func load(firstOf names: [String]) -> Result<LibPQ, PGError> {
        switch SharedLibrary.open(firstOf: names) {
        case let .failure(error):
            return .failure(PGError(
                code: .sqlclientUnableToEstablishSQLConnection,
                message: "PostgreSQL needs libpq, which could not be loaded (\(error.messages.joined(separator: "; "))). "
                    + "Install it (Debian/Ubuntu: libpq5; macOS: brew install libpq) or put it on the library path",
                isConnectionLoss: false, isClientSide: true))
        case let .success(library):
            do {
                return .success(try LibPQ(library: library))
            } catch {
                return .failure(error)
            }
        }
    }

    private init(library: SharedLibrary) throws(PGError) {
        PQconnectdbParams = try library.function("PQconnectdbParams")
        PQfinish = try library.function("PQfinish")
        PQreset = try library.function("PQreset")
        PQstatus = try library.function("PQstatus")
        PQtransactionStatus = try library.function("PQtransactionStatus")
        PQerrorMessage = try library.function("PQerrorMessage")
        PQsocket = try library.function("PQsocket")
        PQbackendPID = try library.function("PQbackendPID")
        PQconninfoParse = try library.function("PQconninfoParse")
        PQconninfoFree = try library.function("PQconninfoFree")
        PQsetNoticeReceiver = try library.function("PQsetNoticeReceiver")
        PQexec = try library.function("PQexec")
        PQexecParams = try library.function("PQexecParams")
        PQprepare = try library.function("PQprepare")
        PQexecPrepared = try library.function("PQexecPrepared")
        PQsendQueryParams = try library.function("PQsendQueryParams")
        PQsetSingleRowMode = try library.function("PQsetSingleRowMode")
        PQgetResult = try library.function("PQgetResult")
        PQconsumeInput = try library.function("PQconsumeInput")
        PQnotifies = try library.function("PQnotifies")
        PQputCopyEnd = try library.function("PQputCopyEnd")
        PQgetCopyData = try library.function("PQgetCopyData")
        PQgetCancel = try library.function("PQgetCancel")
        PQfreeCancel = try library.function("PQfreeCancel")
        PQcancel = try library.function("PQcancel")
        PQclear = try library.function("PQclear")
        PQfreemem = try library.function("PQfreemem")
        PQresultStatus = try library.function("PQresultStatus")
        PQresultErrorMessage = try library.function("PQresultErrorMessage")
        PQresultErrorField = try library.function("PQresultErrorField")
        PQntuples = try library.function("PQntuples")
        PQnfields = try library.function("PQnfields")
        PQfname = try library.function("PQfname")
        PQftype = try library.function("PQftype")
        PQgetvalue = try library.function("PQgetvalue")
        PQgetlength = try library.function("PQgetlength")
        PQgetisnull = try library.function("PQgetisnull")
        PQcmdStatus = try library.function("PQcmdStatus")
        PQcmdTuples = try library.function("PQcmdTuples")
    }
}

extension SharedLibrary {
    /// The function `name`, as the C function pointer type `F`.
    fileprivate func function<F>(_ name: String) throws(PGError) -> F {
        guard let address = address(of: name) else {
            throw PGError(
                code: .sqlclientUnableToEstablishSQLConnection,
                message: "the libpq that was loaded has no function \(name); Tally needs libpq 9.2 or later",
                isConnectionLoss: false, isClientSide: true)
        }
        return unsafeBitCast(address, to: F.self)
    }
}
