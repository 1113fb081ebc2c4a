/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Go binary detection and offsets: the pure parsers, then real binaries built here
 * with the installed Go (skipped cleanly when there is no go): with DWARF, without
 * DWARF (-w: the table), stripped (-s), PIE, and a C binary that is not Go.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/rt_go_elf.h"

static void put_buildinfo(uint8_t *p, size_t n, uint8_t flags, const char *ver)
{
	size_t len = strlen(ver);

	memset(p, 0, n);
	memcpy(p, "\xff Go buildinf:", 14);
	p[14] = 8;
	p[15] = flags;
	p[32] = (uint8_t)len;
	memcpy(p + 33, ver, len);
}

static void test_buildinfo(void **state)
{
	uint8_t bi[96];
	char v[32];

	put_buildinfo(bi, sizeof(bi), 2, "go1.19.8");
	assert_int_equal(ws_go_buildinfo_version(bi, sizeof(bi), v, sizeof(v)), 0);
	assert_string_equal(v, "go1.19.8");
	/* pre-1.18 pointer layout: needs the whole image, refused */
	put_buildinfo(bi, sizeof(bi), 0, "go1.16");
	assert_int_equal(ws_go_buildinfo_version(bi, sizeof(bi), v, sizeof(v)), -ENOTSUP);
	/* bad magic, truncated, length past the end, too long for the buffer */
	put_buildinfo(bi, sizeof(bi), 2, "go1.19.8");
	bi[1] = 'g';
	assert_int_equal(ws_go_buildinfo_version(bi, sizeof(bi), v, sizeof(v)), -EINVAL);
	put_buildinfo(bi, sizeof(bi), 2, "go1.19.8");
	assert_int_equal(ws_go_buildinfo_version(bi, 31, v, sizeof(v)), -EINVAL);
	assert_int_equal(ws_go_buildinfo_version(bi, 36, v, sizeof(v)), -EINVAL);
	assert_int_equal(ws_go_buildinfo_version(bi, sizeof(bi), v, 5), -EINVAL);
	bi[32] = 0x80; /* unterminated varint */
	assert_int_equal(ws_go_buildinfo_version(bi, 33, v, sizeof(v)), -EINVAL);
}

static void test_version(void **state)
{
	int ma = 0, mi = 0;

	assert_int_equal(ws_go_parse_version("go1.19.8", &ma, &mi), 0);
	assert_int_equal(ma, 1);
	assert_int_equal(mi, 19);
	assert_int_equal(ws_go_parse_version("go1.21rc2", &ma, &mi), 0);
	assert_int_equal(mi, 21);
	assert_int_equal(ws_go_parse_version("go1.22.0 X:boringcrypto", &ma, &mi), 0);
	assert_int_equal(mi, 22);
	assert_int_equal(ws_go_parse_version("devel +abc", &ma, &mi), -EINVAL);
	assert_int_equal(ws_go_parse_version("go", &ma, &mi), -EINVAL);
	assert_int_equal(ws_go_parse_version("go1", &ma, &mi), -EINVAL);
}

static void test_table(void **state)
{
	struct ws_go_offsets o;

	assert_false(ws_go_table_offsets(1, 17, &o));
	assert_false(ws_go_table_offsets(1, 23, &o)); /* g.syscallbp moved goid */
	assert_false(ws_go_table_offsets(2, 0, &o));
	for (int mi = 18; mi <= 22; mi++) {
		assert_true(ws_go_table_offsets(1, mi, &o));
		assert_int_equal(o.g_goid, 152);
		assert_int_equal(o.tls_g, -8);
		assert_int_equal(o.src, WS_GO_SRC_TABLE);
		assert_true(o.http_ok);
	}
}

static void test_probe_offset(void **state)
{
	/* go1.19 runtime.newproc1: cmp 0x10(%r14),%rsp; jbe rel32 */
	static const uint8_t small[] = { 0x49, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0x86, 0x03, 0, 0,
					 0x48, 0x83, 0xec, 0x48 };
	/* go1.19 persistConn.roundTrip: lea -0x230(%rsp),%r12; cmp 0x10(%r14),%r12; jbe */
	static const uint8_t big[] = { 0x4c, 0x8d, 0xa4, 0x24, 0xd0, 0xfd, 0xff, 0xff, 0x4d, 0x3b,
				       0x66, 0x10, 0x0f, 0x86, 0xc3, 0x0e, 0, 0 };
	static const uint8_t lea8[] = { 0x4c, 0x8d, 0x64, 0x24, 0xf8, 0x4d, 0x3b, 0x66, 0x10, 0x76, 0x10 };
	static const uint8_t rel8[] = { 0x49, 0x3b, 0x66, 0x10, 0x76, 0x2a };
	uint8_t bad[sizeof(big)];

	assert_int_equal(ws_go_probe_offset(small, sizeof(small)), 4);
	assert_int_equal(ws_go_probe_offset(big, sizeof(big)), 12);
	assert_int_equal(ws_go_probe_offset(lea8, sizeof(lea8)), 9);
	assert_int_equal(ws_go_probe_offset(rel8, sizeof(rel8)), 4);
	/* anything else: the entry itself */
	assert_int_equal(ws_go_probe_offset(small, 5), 0);      /* jbe cut short */
	assert_int_equal(ws_go_probe_offset(rel8, 5), 0);
	assert_int_equal(ws_go_probe_offset(NULL, 0), 0);
	memcpy(bad, big, sizeof(big));
	bad[8] = 0x49;   /* compares rsp after loading r12: not the prologue */
	assert_int_equal(ws_go_probe_offset(bad, sizeof(bad)), 0);
	memcpy(bad, small, sizeof(small));
	bad[5] = 0x87;   /* ja, not jbe */
	assert_int_equal(ws_go_probe_offset(bad, sizeof(small)), 0);
	memcpy(bad, small, sizeof(small));
	bad[3] = 0x18;   /* another g field */
	assert_int_equal(ws_go_probe_offset(bad, sizeof(small)), 0);
}

static void test_maps_bias(void **state)
{
	static const char maps[] =
		"00400000-00401000 r--p 00000000 08:01 999 /usr/bin/other\n"
		"55d0c0000000-55d0c0200000 r--p 00000000 08:01 1234 /srv/app (deleted)\n"
		"55d0c0200000-55d0c0500000 r-xp 00200000 08:01 1234 /srv/app\n"
		"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]\n";
	uint64_t bias = 0;

	assert_int_equal(ws_go_maps_bias(maps, sizeof(maps) - 1, 1234, 0, 0, &bias), 0);
	assert_true(bias == 0x55d0c0000000ull);
	/* first PT_LOAD at vaddr 0x400000 (non-zero link base): bias relative to it */
	assert_int_equal(ws_go_maps_bias(maps, sizeof(maps) - 1, 1234, 0x400000, 0, &bias), 0);
	assert_true(bias == 0x55d0c0000000ull - 0x400000);
	/* unknown inode, or the offset not mapped: no bias, no guess */
	assert_int_equal(ws_go_maps_bias(maps, sizeof(maps) - 1, 4321, 0, 0, &bias), -ENOENT);
	assert_int_equal(ws_go_maps_bias(maps, sizeof(maps) - 1, 1234, 0, 0x1000, &bias), -ENOENT);
	/* last line without a newline, and a truncated line */
	assert_int_equal(ws_go_maps_bias(maps, sizeof(maps) - 2, 1234, 0, 0, &bias), 0);
	assert_int_equal(ws_go_maps_bias("55d0c0000000-55d0", 17, 1234, 0, 0, &bias), -ENOENT);
}

/* ---- real binaries ---------------------------------------------------------------- */

static char g_dir[256];
static bool g_have_go;

static const char go_src[] =
	"package main\n"
	"import (\"net/http\"; \"os\")\n"
	"func main() {\n"
	"\tif len(os.Args) > 5 { http.Get(os.Args[1]) }\n"
	"\tgo func() {}()\n"
	"}\n";

static int build_go(const char *out, const char *ldflags)
{
	char cmd[1024];

	/* "pie": a position-independent executable (internal linking, no cgo) */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && CGO_ENABLED=0 GO111MODULE=off GOFLAGS= GOPATH=%s/gopath"
		 " GOCACHE=${WS_GOCACHE:-%s/cache} go build %s -ldflags='%s' -o %s main.go"
		 " >>build.log 2>&1", g_dir, g_dir, g_dir,
		 strcmp(out, "pie") == 0 ? "-buildmode=pie" : "", ldflags, out);
	return system(cmd);
}

static int setup_bins(void **state)
{
	char path[300];
	FILE *f;

	if (system("command -v go >/dev/null 2>&1") != 0)
		return 0;
	snprintf(g_dir, sizeof(g_dir), "/tmp/ws_rt_go_elf.XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	snprintf(path, sizeof(path), "%s/main.go", g_dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(go_src, f);
	fclose(f);
	if (build_go("dw", "") || build_go("nodw", "-w") || build_go("strip", "-s -w") ||
	    build_go("pie", "")) {
		fprintf(stderr, "go build failed, see %s/build.log\n", g_dir);
		return -1;
	}
	g_have_go = true;
	return 0;
}

static int teardown_bins(void **state)
{
	char cmd[300];

	if (g_dir[0]) {
		snprintf(cmd, sizeof(cmd), "chmod -R u+w %s 2>/dev/null; rm -rf %s", g_dir, g_dir);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

static void bin_path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", g_dir, name);
}

static void test_go_dwarf(void **state)
{
	struct ws_go_info gi, tab;
	char p[300];

	if (!g_have_go)
		skip();
	bin_path(p, sizeof(p), "dw");
	assert_int_equal(ws_go_elf_inspect(p, &gi), 0);
	assert_true(gi.is_go);
	assert_true(gi.supported);
	assert_null(gi.why);
	assert_int_equal(gi.major, 1);
	assert_true(gi.minor >= 18);
	assert_int_equal(gi.off.src, WS_GO_SRC_DWARF);
	assert_true(gi.has_newproc1);
	assert_true(gi.has_roundtrip);
	/* the compilers this was written against (go1.19) start both with a stack check */
	assert_true(gi.newproc1_off != 0);
	assert_true(gi.roundtrip_off != 0);
	assert_true(gi.itab_tcpconn != 0);
	assert_true(gi.off.http_ok);
	assert_int_equal(gi.off.tls_g, -8);
	assert_true(gi.off.m_curg != 0);
	/* The table must agree with the binary's own DWARF for the installed release. */
	if (ws_go_table_offsets(gi.major, gi.minor, &tab.off)) {
		assert_int_equal(tab.off.g_goid, gi.off.g_goid);
		assert_int_equal(tab.off.g_m, gi.off.g_m);
		assert_int_equal(tab.off.pc_conn, gi.off.pc_conn);
		assert_int_equal(tab.off.tcpconn_fd, gi.off.tcpconn_fd);
		assert_int_equal(tab.off.netfd_pfd, gi.off.netfd_pfd);
		assert_int_equal(tab.off.pfd_sysfd, gi.off.pfd_sysfd);
	}
}

static void test_go_no_dwarf(void **state)
{
	struct ws_go_info gi;
	char p[300];

	if (!g_have_go)
		skip();
	bin_path(p, sizeof(p), "nodw");
	assert_int_equal(ws_go_elf_inspect(p, &gi), 0);
	assert_true(gi.is_go);
	assert_true(gi.has_newproc1);
	if (ws_go_table_offsets(gi.major, gi.minor, &gi.off)) {
		assert_int_equal(ws_go_elf_inspect(p, &gi), 0);
		assert_true(gi.supported);
		assert_int_equal(gi.off.src, WS_GO_SRC_TABLE);
	} else {
		/* outside the table and no DWARF: no Go evidence, never guessed offsets */
		assert_false(gi.supported);
		assert_non_null(gi.why);
	}
	/* -s also drops the symbol table: goids still readable, no uprobe targets */
	bin_path(p, sizeof(p), "strip");
	assert_int_equal(ws_go_elf_inspect(p, &gi), 0);
	assert_true(gi.is_go);
	assert_false(gi.has_newproc1);
	assert_false(gi.has_roundtrip);
	assert_int_equal(gi.itab_tcpconn, 0);
}

static void test_go_pie(void **state)
{
	struct ws_go_info gi;
	char p[300];

	if (!g_have_go)
		skip();
	bin_path(p, sizeof(p), "pie");
	assert_int_equal(ws_go_elf_inspect(p, &gi), 0);
	assert_true(gi.is_go);
	assert_true(gi.supported);
	assert_true(gi.pie);
	assert_true(gi.itab_tcpconn != 0);
	assert_int_equal(gi.load0_offset, 0);
	bin_path(p, sizeof(p), "dw");
	assert_int_equal(ws_go_elf_inspect(p, &gi), 0);
	assert_false(gi.pie);
}

static void test_not_go(void **state)
{
	struct ws_go_info gi;
	char self[300];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	assert_true(n > 0);
	self[n] = 0;
	assert_int_equal(ws_go_elf_inspect(self, &gi), 0);
	assert_false(gi.is_go);
	assert_false(gi.supported);
	assert_int_equal(ws_go_elf_inspect("/nonexistent/x", &gi), -ENOENT);
	assert_false(gi.is_go);
	/* not ELF */
	assert_int_equal(ws_go_elf_inspect("/proc/self/status", &gi), -ENOEXEC);
}

int main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_buildinfo),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_maps_bias),
		cmocka_unit_test(test_probe_offset),
		cmocka_unit_test(test_not_go),
	};
	const struct CMUnitTest bins[] = {
		cmocka_unit_test(test_go_dwarf),
		cmocka_unit_test(test_go_no_dwarf),
		cmocka_unit_test(test_go_pie),
	};
	int fails = cmocka_run_group_tests_name("rt_go_elf", pure, NULL, NULL);

	return fails + cmocka_run_group_tests_name("rt_go_elf_bins", bins, setup_bins, teardown_bins);
}
