#ifndef FLOWDB_CFUZZSUPPORT_H
#define FLOWDB_CFUZZSUPPORT_H
#include <stddef.h>
#include <stdint.h>
/* libFuzzer's driver. SwiftPM links every executable with its own main, so the
   fuzz targets start libFuzzer through this entry point. */
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif
