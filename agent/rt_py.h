/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CPython processes: where an executable keeps _PyRuntime and, per interpreter
 * version, where the thread states and their current contextvars Context are
 * (headers/ws_py_abi.h says what the kernel does with them). The pure part: an ELF
 * file and text in, facts out; agent/rt_py_attach.c is the shell that reads /proc and
 * a process's memory and registers the process with the kernel.
 *
 * The offsets are CPython's own struct layouts (Include/internal/pycore_runtime.h,
 * pycore_interp.h, cpython/pystate.h), which change between minor versions and not
 * within one; a version missing here gets no contexts, counted, and the thread and
 * loop rules as before. Before a process is registered the shell checks the layout
 * against its live memory (ws_py_check_layout).
 */
#ifndef WS_RT_PY_H
#define WS_RT_PY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ws_py_offsets {
	uint16_t rt_interp_head;   /* _PyRuntimeState.interpreters.head */
	uint16_t is_threads_head;  /* PyInterpreterState.threads.head */
	uint16_t ts_next;          /* PyThreadState.next */
	uint16_t ts_interp;        /* PyThreadState.interp */
	uint16_t ts_native_tid;    /* PyThreadState.native_thread_id */
	uint16_t ts_context;       /* PyThreadState.context */
	uint16_t ctx_entered;      /* PyContext.ctx_entered */
	uint16_t ts_cframe;        /* PyThreadState.cframe */
	uint16_t cf_frame;         /* _PyCFrame.current_frame */
	uint16_t fr_previous;      /* _PyInterpreterFrame.previous */
	uint16_t fr_code;          /* _PyInterpreterFrame.f_code */
	uint16_t fr_owner;         /* _PyInterpreterFrame.owner */
	uint16_t co_flags;         /* PyCodeObject.co_flags */
	uint8_t owner_gen;         /* FRAME_OWNED_BY_GENERATOR */
};

struct ws_py_info {
	bool is_python;            /* the file defines _PyRuntime */
	bool supported;            /* ... and its version's offsets are known */
	bool pie;                  /* ET_DYN: _PyRuntime moves with the load address */
	int major, minor;          /* from the file name (python3.11, libpython3.11.so...) */
	uint64_t runtime_vaddr;    /* link-time address of _PyRuntime */
	uint64_t load0_vaddr;      /* first PT_LOAD: vaddr and file offset (the load bias) */
	uint64_t load0_offset;
	struct ws_py_offsets off;
	const char *why;           /* when is_python && !supported: why, a static string */
};

/* Inspect the ELF file at path (name: the file's name as the process was started
 * with, for the version). 0, or -errno when it cannot be read as ELF. */
int ws_py_elf_inspect(const char *path, const char *name, struct ws_py_info *out);

/* "python3.11", "/usr/bin/python3.11", "libpython3.11.so.1.0" -> 3, 11. -EINVAL when
 * the name carries no version. */
int ws_py_name_version(const char *name, int *major, int *minor);

/* The offsets of a CPython version; false when not known. */
bool ws_py_table_offsets(int major, int minor, struct ws_py_offsets *out);

/* Reads len bytes at addr of the process; 0 or -errno. */
typedef int (*ws_py_read_fn)(void *ctx, uint64_t addr, void *dst, size_t len);

/*
 * Does the layout hold in this process? Follows _PyRuntime at runtime to the main
 * interpreter and its thread states (at most max), each of which must point back at
 * that interpreter, and one of which must be the main thread's (native tid == pid).
 * 0 when it holds, -ENOENT when nothing is set up yet (no thread state: a process
 * still starting), -EPROTO when it does not hold, or the read's error.
 */
int ws_py_check_layout(const struct ws_py_offsets *o, uint64_t runtime, uint32_t pid, ws_py_read_fn rd,
		       void *ctx, unsigned max);

#endif /* WS_RT_PY_H */
