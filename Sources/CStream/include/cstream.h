#ifndef FLOWDB_CSTREAM_H
#define FLOWDB_CSTREAM_H
#include <stdio.h>
#include <stddef.h>

/* A read-only stdio stream whose bytes come from callbacks
 * (glibc's fopencookie, which Swift cannot see without _GNU_SOURCE). libpcap
 * reads captures from a FILE; this lets flowdb hand it bytes it reads itself.
 *
 * read:  up to size bytes into buffer; the count, 0 at the end, -1 on error.
 * tell:  bytes handed out so far (ftell is the only seek supported).
 * buffer_size: the stdio buffer, which read fills.
 * close: called once by fclose; the stream is gone afterwards. */
typedef long (*flowdb_stream_read)(void *context, char *buffer, size_t size);
typedef long long (*flowdb_stream_tell)(void *context);
typedef void (*flowdb_stream_close)(void *context);

FILE *flowdb_stream_open(void *context, flowdb_stream_read read, flowdb_stream_tell tell, flowdb_stream_close close,
                         size_t buffer_size);
#endif
