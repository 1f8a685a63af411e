/* task_states.h: the task states and kinds as one X-macro list each: the task registry's enums
 * (task.h) and the snapshots front ends read (engine.h) are generated from them, so the two
 * always agree in order and names. Shared layer: macros only. */
#ifndef DP_TASK_STATES_H
#define DP_TASK_STATES_H

/* X(NAME, description); the UI prints the descriptions verbatim. */
#define DP_TASK_STATES(X)                                              \
	X(RUNNING, "running a callback")                                   \
	X(READY, "ready to run")                                           \
	X(SLICE_WAIT, "working in slices: waits for the loop's next turn") \
	X(READ_WAIT, "waiting for data to arrive")                         \
	X(WRITE_WAIT, "waiting for the socket to accept data")             \
	X(CONNECT_WAIT, "waiting for a connection to complete")            \
	X(DNS_WAIT, "waiting for a name lookup")                           \
	X(DISK_WAIT, "waiting for the disk")                               \
	X(TIMER_WAIT, "sleeping until a timer fires")                      \
	X(RATE_WAIT, "throttled by a rate limit")                          \
	X(PEER_WAIT, "waiting on the peer (choked or nothing to request)") \
	X(QUEUED, "queued behind other work")                              \
	X(DONE, "finished")                                                \
	X(FAILED, "failed")

/* X(NAME, name) */
#define DP_TASK_KINDS(X)      \
	X(LISTENER, "listener") \
	X(PEER, "peer")         \
	X(TRACKER, "tracker")   \
	X(DISK, "disk")         \
	X(HASH, "hash")         \
	X(TORRENT, "torrent")   \
	X(DHT, "dht")           \
	X(LSD, "lsd")           \
	X(RPC, "rpc")           \
	X(UI, "ui")             \
	X(TIMER, "timer")       \
	X(HOOK, "hook")         \
	X(SESSION, "session")   \
	X(METADATA, "metadata") \
	X(UTP, "utp")           \
	X(PORTMAP, "portmap") \
	X(WEBSEED, "webseed")

#endif
