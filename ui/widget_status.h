/* widget_status.h: the status bar above the bottom line (widget_status.c). */
#ifndef DP_UI_WIDGET_STATUS_H
#define DP_UI_WIDGET_STATUS_H

struct ui;

/* Global rates with their limits and sparklines, connections, port, free space on row y. */
void status_draw(struct ui *ui, int y);

#endif
