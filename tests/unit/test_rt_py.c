/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CPython processes (agent/rt_py.c): version from the file name, the offsets table
 * (checked with offsetof against the interpreter's own internal headers when
 * python3.11-dev is installed), the live-layout check on a fake address space, and
 * the ELF inspection of the installed interpreter.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/rt_py.h"
#include "headers/ws_py_abi.h"

#if defined(__has_include)
#if __has_include(<python3.11/internal/pycore_runtime.h>) && __has_include(<dynamic_annotations.h>)
#define Py_BUILD_CORE 1
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <Python.h>
#include <internal/pycore_runtime.h>
#include <internal/pycore_interp.h>
#include <internal/pycore_context.h>
#include <internal/pycore_frame.h>
#pragma GCC diagnostic pop
#define HAVE_PY311_HEADERS 1
#endif
#endif

static void test_name_version(void **state)
{
	int ma = 0, mi = 0;

	(void)state;
	assert_int_equal(ws_py_name_version("/usr/bin/python3.11", &ma, &mi), 0);
	assert_int_equal(ma, 3);
	assert_int_equal(mi, 11);
	assert_int_equal(ws_py_name_version("/opt/lib/libpython3.12.so.1.0", &ma, &mi), 0);
	assert_int_equal(mi, 12);
	assert_int_equal(ws_py_name_version("python3.13t", &ma, &mi), 0);
	assert_int_equal(mi, 13);
	assert_int_equal(ws_py_name_version("/usr/bin/python3", &ma, &mi), -EINVAL);
	assert_int_equal(ws_py_name_version("/usr/bin/python3.11 (deleted)", &ma, &mi), -EINVAL);
	assert_int_equal(ws_py_name_version("/usr/bin/node", &ma, &mi), -EINVAL);
	assert_int_equal(ws_py_name_version("python3.x", &ma, &mi), -EINVAL);
	assert_int_equal(ws_py_name_version(NULL, &ma, &mi), -EINVAL);
}

static void test_table(void **state)
{
	struct ws_py_offsets o;

	(void)state;
	assert_true(ws_py_table_offsets(3, 11, &o));
	assert_false(ws_py_table_offsets(3, 99, &o));
	assert_false(ws_py_table_offsets(2, 7, &o));
#ifdef HAVE_PY311_HEADERS
	assert_true(ws_py_table_offsets(3, 11, &o));
	assert_int_equal(o.rt_interp_head, offsetof(_PyRuntimeState, interpreters.head));
	assert_int_equal(o.is_threads_head, offsetof(PyInterpreterState, threads.head));
	assert_int_equal(o.ts_next, offsetof(PyThreadState, next));
	assert_int_equal(o.ts_interp, offsetof(PyThreadState, interp));
	assert_int_equal(o.ts_native_tid, offsetof(PyThreadState, native_thread_id));
	assert_int_equal(o.ts_context, offsetof(PyThreadState, context));
	assert_int_equal(o.ctx_entered, offsetof(PyContext, ctx_entered));
	assert_int_equal(o.ts_cframe, offsetof(PyThreadState, cframe));
	assert_int_equal(o.cf_frame, offsetof(_PyCFrame, current_frame));
	assert_int_equal(o.fr_previous, offsetof(_PyInterpreterFrame, previous));
	assert_int_equal(o.fr_code, offsetof(_PyInterpreterFrame, f_code));
	assert_int_equal(o.fr_owner, offsetof(_PyInterpreterFrame, owner));
	assert_int_equal(o.co_flags, offsetof(PyCodeObject, co_flags));
	assert_int_equal(o.owner_gen, FRAME_OWNED_BY_GENERATOR);
	assert_int_equal(WS_PY_CO_TASK_CODE, CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR);
#else
	fprintf(stderr, "test_rt_py: python3.11 internal headers absent: offsets not checked against them\n");
#endif
}

/* A fake address space: 8-byte words at addresses 0x1000 + 8 * i. */
#define BASE 0x1000u
static uint64_t mem[256];

static int rd(void *ctx, uint64_t addr, void *dst, size_t len)
{
	(void)ctx;
	if (addr < BASE || addr + len > BASE + sizeof(mem))
		return -EFAULT;
	memcpy(dst, (const uint8_t *)mem + (addr - BASE), len);
	return 0;
}

static void put(uint64_t addr, uint64_t v)
{
	memcpy((uint8_t *)mem + (addr - BASE), &v, sizeof(v));
}

static void test_check_layout(void **state)
{
	struct ws_py_offsets o = { .rt_interp_head = 8, .is_threads_head = 16, .ts_next = 8, .ts_interp = 16,
				   .ts_native_tid = 24, .ts_context = 32 };
	const uint64_t rt = BASE, interp = BASE + 0x100, t1 = BASE + 0x200, t2 = BASE + 0x300;

	(void)state;
	memset(mem, 0, sizeof(mem));
	assert_int_equal(ws_py_check_layout(&o, rt, 500, rd, NULL, 8), -ENOENT);   /* nothing yet */
	put(rt + 8, interp);
	assert_int_equal(ws_py_check_layout(&o, rt, 500, rd, NULL, 8), -ENOENT);   /* no thread */
	put(interp + 16, t1);
	put(t1 + 8, t2);
	put(t1 + 16, interp);
	put(t1 + 24, 501);
	put(t2 + 16, interp);
	put(t2 + 24, 500);
	assert_int_equal(ws_py_check_layout(&o, rt, 500, rd, NULL, 8), 0);
	/* the main thread beyond the walk */
	assert_int_equal(ws_py_check_layout(&o, rt, 500, rd, NULL, 1), -EPROTO);
	/* a thread state not pointing back: wrong offsets */
	put(t2 + 16, interp + 8);
	assert_int_equal(ws_py_check_layout(&o, rt, 500, rd, NULL, 8), -EPROTO);
	put(t2 + 16, interp);
	/* no thread of this pid's main thread */
	assert_int_equal(ws_py_check_layout(&o, rt, 777, rd, NULL, 8), -EPROTO);
	/* unreadable */
	assert_int_equal(ws_py_check_layout(&o, BASE + 0x10000, 500, rd, NULL, 8), -EFAULT);
}

static void test_inspect_installed(void **state)
{
	struct ws_py_info info;

	(void)state;
	if (access("/usr/bin/python3.11", R_OK)) {
		fprintf(stderr, "test_rt_py: no /usr/bin/python3.11: skipped\n");
		return;
	}
	assert_int_equal(ws_py_elf_inspect("/usr/bin/python3.11", "/usr/bin/python3.11", &info), 0);
	assert_true(info.is_python);
	assert_true(info.supported);
	assert_int_equal(info.major, 3);
	assert_int_equal(info.minor, 11);
	assert_true(info.runtime_vaddr != 0);
	/* a file that is not python, and one that is not ELF */
	assert_int_equal(ws_py_elf_inspect("/bin/sh", "/bin/sh", &info), 0);
	assert_false(info.is_python);
	assert_int_equal(ws_py_elf_inspect("/etc/hostname", "/etc/hostname", &info), -ENOEXEC);
	/* the name says nothing: no version, not supported */
	assert_int_equal(ws_py_elf_inspect("/usr/bin/python3.11", "/usr/bin/python3", &info), 0);
	assert_true(info.is_python);
	assert_false(info.supported);
	assert_non_null(info.why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_version),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_check_layout),
		cmocka_unit_test(test_inspect_installed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
