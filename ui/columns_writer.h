/* columns_writer.h: the columns file written on a thread of its own, off the UI's loop (its
 * home may be a slow disk or a stalled NFS mount): the newest text waits while one is written,
 * older ones are dropped, a failure is kept for the UI to show (columns_writer.c). */
#ifndef DP_UI_COLUMNS_WRITER_H
#define DP_UI_COLUMNS_WRITER_H

#include <stdbool.h>
#include <stddef.h>

/* Writes text to path (as ui_columns_saved_store) on the writer thread; returns at once. */
void ui_columns_writer_save(const char *path, const char *text);
/* Whether a write failed since the last call; its reason in err. */
bool ui_columns_writer_failed(char *err, size_t errlen);
/* Waits until what was saved is written, at most timeout_ms; false when the writer is still at
 * it (a stalled disk: the UI leaves anyway). */
bool ui_columns_writer_flush(unsigned timeout_ms);

#endif
