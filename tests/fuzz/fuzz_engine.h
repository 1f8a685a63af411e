/* fuzz_engine.h: a loopback engine in a temporary download directory for fuzz targets that drive
 * the whole engine (RPC requests); the directory is removed when the run exits. */
#ifndef DP_FUZZ_ENGINE_H
#define DP_FUZZ_ENGINE_H

struct event_base;
struct engine;

/* Aborts on any failure (a fuzz target cannot run without it). dir_template is for mkdtemp. */
struct engine *fuzz_engine_start(char *dir_template, struct event_base **base_out);

#endif
