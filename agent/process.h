/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per-process resource identity: which service a traced process is (service.name from
 * its own OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES, else its executable name),
 * plus process.*, host.name, container.id and k8s.pod.uid, read from /proc.
 *
 * Everything read from /proc/PID comes from another, possibly hostile, process
 * (environ, cmdline, cgroup paths, even comm): the parsers below take arbitrary bytes,
 * never read past their input and are fuzzed (tests/fuzz/fuzz_process.c).
 */
#ifndef WS_PROCESS_H
#define WS_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "span.h"

#define WS_PROC_CMDLINE_MAX 512     /* process.command_line is cut to this many bytes */
#define WS_PROC_ENV_READ_MAX (128u << 10)  /* environ bytes read per process */
#define WS_OTEL_KEY_MAX 128
#define WS_OTEL_VAL_MAX 256

/* ---- pure parsers ---------------------------------------------------------------- */

struct ws_proc_stat {
	char comm[64];              /* between the first '(' and the last ')', cut to fit */
	uint64_t start_time;        /* field 22, clock ticks after boot */
};

/* Parse /proc/PID/stat content. 0, or -EINVAL when malformed. */
int ws_proc_stat_parse(const char *buf, size_t len, struct ws_proc_stat *st);

/* Find NAME in an environ buffer (NUL-separated NAME=value entries). An entry not
 * terminated by NUL (a cut read) is ignored. The first match wins, like getenv().
 * 0 with *val and *val_len pointing into buf, or -ENOENT. */
int ws_environ_find(const char *buf, size_t len, const char *name, const char **val, size_t *val_len);

/* Iterator over OTEL_RESOURCE_ATTRIBUTES: comma-separated key=value, whitespace around
 * keys and values trimmed, values percent-decoded (W3C Baggage octets). Malformed
 * entries (no '=', empty key, key with controls/spaces, bad or NUL-producing %-escape,
 * key or value longer than its buffer) are skipped and counted in skipped. */
struct ws_kv_iter {
	const char *p;
	const char *end;
	unsigned skipped;
};

void ws_otel_attrs_init(struct ws_kv_iter *it, const char *s, size_t len);
/* 1 with a NUL-terminated key and value, 0 at the end. */
int ws_otel_attrs_next(struct ws_kv_iter *it, char *key, size_t key_cap, char *val, size_t val_cap);

/* Container and pod identity from /proc/PID/cgroup content. */
#define WS_CG_CONTAINER 1
#define WS_CG_POD 2
struct ws_cgroup_ids {
	char container_id[65];      /* 64 lowercase hex, or "" */
	char pod_uid[37];           /* 8-4-4-4-12 lowercase with dashes, or "" */
};

/* Recognises docker (/docker/ID, docker-ID.scope), containerd (cri-containerd-ID.scope,
 * /kubepods/.../ID), cri-o (crio-ID.scope), podman (libpod-ID.scope) path shapes; the
 * deepest match in a path wins (nested containers). Pod uid from kubepods paths with
 * '-' or '_' separators. Returns a WS_CG_* bit mask of what was found. */
int ws_cgroup_parse(const char *buf, size_t len, struct ws_cgroup_ids *ids);

/* /proc/PID/cmdline content as one line: NULs become spaces, trailing ones dropped,
 * cut to out_cap-1 bytes without splitting a UTF-8 sequence. Returns the length. */
size_t ws_cmdline_format(const char *buf, size_t len, char *out, size_t out_cap);

/* ---- one process ----------------------------------------------------------------- */

struct ws_proc_fill_info {
	bool gone;                  /* /proc/PID/stat unreadable: minimal resource filled */
	int stat_errno;             /* why, when gone */
	int environ_errno;          /* 0, or why environ could not be read (EACCES without root) */
	unsigned attrs_malformed;   /* OTEL_RESOURCE_ATTRIBUTES entries skipped */
	unsigned attrs_dropped;     /* attributes that did not fit the resource */
};

/*
 * Fill a fresh resource (from ws_resource_new) for pid, reading proc_root/PID/...
 * ("/proc" normally). service.name: the process's OTEL_SERVICE_NAME, else service.name
 * in its OTEL_RESOURCE_ATTRIBUTES, else the executable name ("nginx", "python3"; the
 * project's choice over "unknown_service:<exe>", see docs/outputs.md), else comm. The
 * process's other OTEL_RESOURCE_ATTRIBUTES come next and win over detected values
 * (as the process's own SDK would report them), except process.pid. Then process.pid,
 * process.executable.name, process.command_line, host.name, container.id, k8s.pod.uid.
 * Sets r->start_time.
 *
 * Returns 0 (also when only environ was unreadable: see info), or -errno when the
 * process's stat cannot be read (-ENOENT: gone); r then holds the minimal resource
 * service.name=unknown_service, process.pid, host.name.
 */
int ws_process_resource_fill(struct ws_resource *r, uint32_t pid, const char *host_name, const char *proc_root);
/* Whether resources carry process.command_line (the whole command line: arguments can
 * hold passwords, `redis-cli -a ...`, `mysql -p...`) or only process.command (argv[0],
 * the default). Process-wide (--process-command-line). */
void ws_process_set_command_line(bool on);
int ws_process_resource_fill_ex(struct ws_resource *r, uint32_t pid, const char *host_name,
				const char *proc_root, struct ws_proc_fill_info *info);

/* ---- cache ----------------------------------------------------------------------- */

/*
 * pid -> resource, keyed by (pid, start_time) so a reused pid gets a new resource.
 * Bounded (clock eviction). Not thread-safe: one owner (the event loop).
 *
 * A cached entry is re-checked against /proc/PID/stat at most every revalidate_ns
 * (default 1 s) so a pid reused without ws_proc_cache_forget() is noticed; the agent
 * should call forget() when it sees a process exit.
 */
struct ws_proc_cache;

struct ws_proc_cache_stats {
	uint64_t hits, misses;
	uint64_t gone;               /* minimal resources for processes already gone */
	uint64_t environ_unreadable;
	uint64_t pid_reused;
	uint64_t evictions;
	uint64_t attrs_malformed, attrs_dropped;
	uint64_t entries;
};

struct ws_proc_cache *ws_proc_cache_new(size_t max, const char *host_name, const char *proc_root);
/* A borrowed pointer, valid until the next get/forget/set_node_attrs/free on this
 * cache (eviction may drop the cache's reference). Callers that keep it (spans queued
 * in sinks) take their own ws_resource_ref(). NULL only when out of memory. */
struct ws_resource *ws_proc_cache_get(struct ws_proc_cache *c, uint32_t pid);
/* As ws_proc_cache_get; comm (the kernel's task comm, may be NULL) names the process
 * when it has already exited and /proc has nothing left. */
struct ws_resource *ws_proc_cache_get_hint(struct ws_proc_cache *c, uint32_t pid, const char *comm);
void ws_proc_cache_forget(struct ws_proc_cache *c, uint32_t pid);
void ws_proc_cache_free(struct ws_proc_cache *c);
/* Node-level attributes (the agent's own OTEL_RESOURCE_ATTRIBUTES) added to every
 * resource built after this call when the process did not set the key itself;
 * service.name is never taken from them. Cached entries are dropped so they apply
 * everywhere. NULL or "" clears. 0 or -ENOMEM. */
int ws_proc_cache_set_node_attrs(struct ws_proc_cache *c, const char *otel_resource_attributes);
void ws_proc_cache_set_revalidate_ns(struct ws_proc_cache *c, uint64_t ns);
void ws_proc_cache_get_stats(const struct ws_proc_cache *c, struct ws_proc_cache_stats *st);
/* "proc_cache_<name> value" lines for the agent's counters report. */
void ws_proc_cache_report(const struct ws_proc_cache *c, FILE *out);

#endif /* WS_PROCESS_H */
