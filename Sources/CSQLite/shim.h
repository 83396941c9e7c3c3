#ifndef FLOWDB_CSQLITE_SHIM_H
#define FLOWDB_CSQLITE_SHIM_H
#include <sqlite3.h>

/* SQLITE_TRANSIENT and SQLITE_STATIC are macros Swift cannot import. */
static inline sqlite3_destructor_type flowdb_sqlite_transient(void) { return SQLITE_TRANSIENT; }
static inline sqlite3_destructor_type flowdb_sqlite_static(void) { return SQLITE_STATIC; }

/* sqlite3_config is variadic, which Swift cannot call. */
static inline int flowdb_sqlite_disable_memstatus(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }
#endif
