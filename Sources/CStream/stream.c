#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "cstream.h"

struct flowdb_stream {
    void *context;
    flowdb_stream_read read;
    flowdb_stream_tell tell;
    flowdb_stream_close close;
    char buffer[];
};

static ssize_t stream_read(void *cookie, char *buffer, size_t size) {
    struct flowdb_stream *s = cookie;
    return s->read(s->context, buffer, size);
}

static int stream_seek(void *cookie, off64_t *offset, int whence) {
    struct flowdb_stream *s = cookie;
    if (whence != SEEK_CUR || *offset != 0) {
        errno = ESPIPE;
        return -1;
    }
    *offset = s->tell(s->context);
    return 0;
}

static int stream_close(void *cookie) {
    struct flowdb_stream *s = cookie;
    s->close(s->context);
    free(s);
    return 0;
}

FILE *flowdb_stream_open(void *context, flowdb_stream_read read, flowdb_stream_tell tell, flowdb_stream_close close,
                         size_t buffer_size) {
    struct flowdb_stream *s = malloc(sizeof *s + buffer_size);
    if (!s) return NULL;
    s->context = context;
    s->read = read;
    s->tell = tell;
    s->close = close;
    cookie_io_functions_t io = { .read = stream_read, .write = NULL, .seek = stream_seek, .close = stream_close };
    FILE *f = fopencookie(s, "rb", io);
    if (!f) {
        free(s);
        return NULL;
    }
    /* Buffered: glibc reads a cookie stream without a buffer one byte per call.
     * (It ignores the size unless it is given the buffer too.) */
    setvbuf(f, s->buffer, _IOFBF, buffer_size);
    return f;
}
