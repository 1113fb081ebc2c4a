/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Process resources: the pure parsers, then fill and cache against a fake /proc tree. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/process.h"
#include "agent/span.h"
#include "exporter/buf.h"
#include "exporter/otlp_json.h"

#define LIT(s) s, sizeof(s) - 1

/* ---- stat ------------------------------------------------------------------------ */

static const char STAT_TAIL[] = " S 1 1234 1234 0 -1 4194560 1200 0 0 0 15 3 0 0 20 0 4 0 987654 123456789 2000";

static void test_stat_parse(void **state)
{
	struct ws_proc_stat st;
	char buf[512];

	snprintf(buf, sizeof(buf), "1234 (nginx)%s\n", STAT_TAIL);
	assert_int_equal(ws_proc_stat_parse(buf, strlen(buf), &st), 0);
	assert_string_equal(st.comm, "nginx");
	assert_int_equal(st.start_time, 987654);

	/* comm with spaces and parentheses: the last ')' ends it */
	snprintf(buf, sizeof(buf), "77 (a) b) (c S 9)%s", STAT_TAIL);
	assert_int_equal(ws_proc_stat_parse(buf, strlen(buf), &st), 0);
	assert_string_equal(st.comm, "a) b) (c S 9");
	assert_int_equal(st.start_time, 987654);

	assert_int_equal(ws_proc_stat_parse(LIT("1234 nginx S 1 2 3"), &st), -EINVAL);
	assert_int_equal(ws_proc_stat_parse(LIT("1234 (nginx) S 1 2 3 4 5"), &st), -EINVAL);
	assert_int_equal(ws_proc_stat_parse(LIT(") 1 (x"), &st), -EINVAL);
	assert_int_equal(ws_proc_stat_parse(LIT("1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12x4 5"), &st), -EINVAL);
	assert_int_equal(ws_proc_stat_parse(LIT("1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -5 5"), &st), -EINVAL);
	assert_int_equal(ws_proc_stat_parse(LIT("1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99999999999999999999999 5"), &st), -EINVAL);
	assert_int_equal(ws_proc_stat_parse(LIT("1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 18446744073709551610"), &st), 0);
	assert_true(st.start_time == 18446744073709551610ull);
	assert_int_equal(ws_proc_stat_parse(LIT("1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 18446744073709551616"), &st), -EINVAL);
	assert_int_equal(ws_proc_stat_parse("", 0, &st), -EINVAL);
}

/* ---- environ --------------------------------------------------------------------- */

static void test_environ_find(void **state)
{
	static const char env[] = "PATH=/bin\0OTEL_SERVICE_NAMEX=no\0OTEL_SERVICE_NAME=cart\0"
				  "OTEL_SERVICE_NAME=second\0EMPTY=\0CUT=abc";
	const char *v;
	size_t n;

	assert_int_equal(ws_environ_find(env, sizeof(env) - 1, "OTEL_SERVICE_NAME", &v, &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(v, "cart", 4);
	assert_int_equal(ws_environ_find(env, sizeof(env) - 1, "EMPTY", &v, &n), 0);
	assert_int_equal(n, 0);
	/* the last entry has no NUL: a cut read, not trusted */
	assert_int_equal(ws_environ_find(env, sizeof(env) - 1, "CUT", &v, &n), -ENOENT);
	assert_int_equal(ws_environ_find(env, sizeof(env) - 1, "PATH=", &v, &n), -ENOENT);
	assert_int_equal(ws_environ_find(env, sizeof(env) - 1, "OTEL", &v, &n), -ENOENT);
	assert_int_equal(ws_environ_find("", 0, "A", &v, &n), -ENOENT);
	/* cut inside the name of the wanted entry */
	assert_int_equal(ws_environ_find(env, 14, "OTEL_SERVICE_NAMEX", &v, &n), -ENOENT);
}

/* ---- OTEL_RESOURCE_ATTRIBUTES ---------------------------------------------------- */

static void test_otel_attrs(void **state)
{
	static const char s[] = " a=1, b = two%20words ,bad,=x,c=%ZZ,d=%00,e=ok%2C%3D%e2%82%ac,  ,f=,"
				"sp ace=1,g=a=b,h=%4,long=0123456789012345678901234567890123456789";
	struct ws_kv_iter it;
	char k[16], v[32];

	ws_otel_attrs_init(&it, s, sizeof(s) - 1);
	assert_int_equal(ws_otel_attrs_next(&it, k, sizeof(k), v, sizeof(v)), 1);
	assert_string_equal(k, "a");
	assert_string_equal(v, "1");
	assert_int_equal(ws_otel_attrs_next(&it, k, sizeof(k), v, sizeof(v)), 1);
	assert_string_equal(k, "b");
	assert_string_equal(v, "two words");
	assert_int_equal(ws_otel_attrs_next(&it, k, sizeof(k), v, sizeof(v)), 1);
	assert_string_equal(k, "e");
	assert_string_equal(v, "ok,=\xe2\x82\xac");
	assert_int_equal(ws_otel_attrs_next(&it, k, sizeof(k), v, sizeof(v)), 1);
	assert_string_equal(k, "f");
	assert_string_equal(v, "");
	assert_int_equal(ws_otel_attrs_next(&it, k, sizeof(k), v, sizeof(v)), 1);
	assert_string_equal(k, "g");
	assert_string_equal(v, "a=b");
	assert_int_equal(ws_otel_attrs_next(&it, k, sizeof(k), v, sizeof(v)), 0);
	assert_int_equal(ws_otel_attrs_next(&it, k, sizeof(k), v, sizeof(v)), 0);
	/* bad, =x, c, d, "sp ace", h, long (value longer than 31 bytes) */
	assert_int_equal(it.skipped, 7);

	ws_otel_attrs_init(&it, NULL, 0);
	assert_int_equal(ws_otel_attrs_next(&it, k, sizeof(k), v, sizeof(v)), 0);
}

/* ---- cgroup ---------------------------------------------------------------------- */

#define ID64 "3f4e1d2c5b6a79880123456789abcdef0123456789abcdef0123456789abcdef"
#define ID64B "aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889999"

static void cg(const char *text, int want, const char *cid, const char *pod)
{
	struct ws_cgroup_ids ids;

	assert_int_equal(ws_cgroup_parse(text, strlen(text), &ids), want);
	assert_string_equal(ids.container_id, cid);
	assert_string_equal(ids.pod_uid, pod);
}

static void test_cgroup_shapes(void **state)
{
	/* docker, cgroup v1 (several hierarchies) */
	cg("12:memory:/docker/" ID64 "\n11:cpu,cpuacct:/docker/" ID64 "\n", WS_CG_CONTAINER, ID64, "");
	/* docker, systemd driver, cgroup v2 */
	cg("0::/system.slice/docker-" ID64 ".scope\n", WS_CG_CONTAINER, ID64, "");
	/* kubernetes + containerd, cgroupfs driver */
	cg("0::/kubepods/besteffort/pod0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9/" ID64 "\n",
	   WS_CG_CONTAINER | WS_CG_POD, ID64, "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9");
	/* kubernetes + containerd, systemd driver: uid with underscores */
	cg("0::/kubepods.slice/kubepods-burstable.slice/"
	   "kubepods-burstable-pod0f1e2d3c_4b5a_6978_8695_a4b3c2d1e0f9.slice/cri-containerd-" ID64 ".scope\n",
	   WS_CG_CONTAINER | WS_CG_POD, ID64, "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9");
	/* cri-o; its conmon monitor is not the container */
	cg("0::/kubepods.slice/kubepods-pod0F1E2D3C_4B5A_6978_8695_A4B3C2D1E0F9.slice/crio-" ID64 ".scope",
	   WS_CG_CONTAINER | WS_CG_POD, ID64, "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9");
	cg("0::/machine.slice/crio-conmon-" ID64 ".scope\n", 0, "", "");
	/* podman */
	cg("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID64 ".scope/container\n",
	   WS_CG_CONTAINER, ID64, "");
	/* nested: the innermost container */
	cg("0::/docker/" ID64 "/docker/" ID64B "\n", WS_CG_CONTAINER, ID64B, "");
	/* no container: host processes, cgroup namespaces, junk */
	cg("0::/user.slice/user-0.slice/session-3.scope\n", 0, "", "");
	cg("0::/\n", 0, "", "");
	cg("garbage without colons " ID64, 0, "", "");
	cg("0::/x" ID64 "\n", 0, "", "");                     /* 64 hex glued to other text */
	cg("0::/docker/" ID64 "0\n", 0, "", "");              /* 65 hex */
	/* a uid-like string outside kubepods is not a pod */
	cg("0::/system.slice/pod0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9.scope\n", 0, "", "");
	cg("", 0, "", "");
}

/* ---- cmdline --------------------------------------------------------------------- */

static void test_cmdline_format(void **state)
{
	char out[WS_PROC_CMDLINE_MAX + 1], big[2000], tiny[8];

	assert_int_equal(ws_cmdline_format(LIT("python3\0-m\0http.server\0"), out, sizeof(out)), 22);
	assert_string_equal(out, "python3 -m http.server");
	/* setproctitle-style: one string padded with NULs */
	assert_int_equal(ws_cmdline_format(LIT("nginx: worker process\0\0\0\0"), out, sizeof(out)), 21);
	assert_string_equal(out, "nginx: worker process");
	assert_int_equal(ws_cmdline_format("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* bounded to 512 bytes */
	memset(big, 'a', sizeof(big));
	assert_int_equal(ws_cmdline_format(big, sizeof(big), out, sizeof(out)), 512);
	/* never cut inside a UTF-8 sequence: "abcde" + "€" (3 bytes) into 7 bytes */
	assert_int_equal(ws_cmdline_format(LIT("abcde\xe2\x82\xac"), tiny, sizeof(tiny)), 5);
	assert_string_equal(tiny, "abcde");
}

/* ---- fake /proc ------------------------------------------------------------------ */

static char root[64];

static void put(uint32_t pid, const char *name, const char *data, size_t len)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%u", root, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%u/%s", root, pid, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void put_stat(uint32_t pid, const char *comm, uint64_t start)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%u (%s) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 %llu 1000 200\n",
		 pid, comm, (unsigned long long)start);
	put(pid, "stat", buf, strlen(buf));
}

static void put_exe(uint32_t pid, const char *target)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%u/exe", root, pid);
	unlink(path);
	assert_int_equal(symlink(target, path), 0);
}

static int setup_tree(void **state)
{
	snprintf(root, sizeof(root), "/tmp/ws_proc_XXXXXX");
	assert_non_null(mkdtemp(root));
	return 0;
}

static int teardown_tree(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static const char *sattr(const struct ws_resource *r, const char *key)
{
	const struct ws_attr *a = ws_resource_find_attr(r, key);

	return a && a->type == WS_ATTR_STR ? ws_resource_attr_str(r, a) : NULL;
}

static void assert_attr_order(const struct ws_resource *r, const char *const *keys, size_t n)
{
	assert_int_equal(r->n_attrs, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(r->attrs[i].key, keys[i]);
}

static void test_fill_full(void **state)
{
	static const char env[] = "HOME=/root\0OTEL_SERVICE_NAME=checkout\0"
		"OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=prod,service.name=ignored,"
		"process.pid=1,host.name=custom%20host,bad entry,team=pay%2Fments\0";
	static const char *order[] = { "service.name", "deployment.environment.name", "host.name", "team",
				       "process.pid", "process.executable.name", "process.command",
				       "container.id", "k8s.pod.uid" };
	struct ws_resource *r = ws_resource_new(0);
	struct ws_proc_fill_info info;

	put_stat(1234, "python3.11", 5550);
	put(1234, "environ", env, sizeof(env) - 1);
	put(1234, "cmdline", LIT("/usr/bin/python3\0app.py\0--port\08080\0"));
	put(1234, "cgroup", LIT("0::/kubepods/burstable/pod0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9/" ID64 "\n"));
	put_exe(1234, "/usr/bin/python3.11");
	assert_non_null(r);
	assert_int_equal(ws_process_resource_fill_ex(r, 1234, "node-1", root, &info), 0);
	assert_false(info.gone);
	assert_int_equal(info.environ_errno, 0);
	assert_int_equal(info.attrs_malformed, 1);
	assert_int_equal(r->pid, 1234);
	assert_int_equal(r->start_time, 5550);
	assert_string_equal(sattr(r, "service.name"), "checkout");
	assert_string_equal(sattr(r, "deployment.environment.name"), "prod");
	assert_string_equal(sattr(r, "host.name"), "custom host");     /* the process's own wins */
	assert_string_equal(sattr(r, "team"), "pay/ments");
	assert_int_equal(ws_resource_find_attr(r, "process.pid")->v.i, 1234);   /* never from env */
	assert_string_equal(sattr(r, "process.executable.name"), "python3.11");
	assert_string_equal(sattr(r, "process.command"), "/usr/bin/python3");   /* no arguments by default */
	assert_null(sattr(r, "process.command_line"));
	assert_attr_order(r, order, sizeof(order) / sizeof(order[0]));
	ws_process_set_command_line(true);
	assert_int_equal(ws_process_resource_fill_ex(r, 1234, "node-1", root, &info), 0);
	assert_string_equal(sattr(r, "process.command_line"), "/usr/bin/python3 app.py --port 8080");
	assert_null(sattr(r, "process.command"));
	ws_process_set_command_line(false);
	assert_string_equal(sattr(r, "container.id"), ID64);
	assert_string_equal(sattr(r, "k8s.pod.uid"), "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9");
	ws_resource_unref(r);
}

static void test_fill_service_name_sources(void **state)
{
	static const char env_ra[] = "OTEL_RESOURCE_ATTRIBUTES=a=1,service.name=orders%2Dapi\0OTEL_SERVICE_NAME=\0";
	struct ws_resource *r = ws_resource_new(0);

	/* from OTEL_RESOURCE_ATTRIBUTES when OTEL_SERVICE_NAME is empty */
	put_stat(200, "java", 1);
	put(200, "environ", env_ra, sizeof(env_ra) - 1);
	put_exe(200, "/usr/lib/jvm/bin/java");
	assert_int_equal(ws_process_resource_fill(r, 200, "h", root), 0);
	assert_string_equal(sattr(r, "service.name"), "orders-api");
	assert_string_equal(sattr(r, "a"), "1");

	/* no OTEL variables: the executable name, " (deleted)" dropped after an upgrade */
	put_stat(201, "nginx", 2);
	put(201, "environ", LIT("PATH=/bin\0"));
	put_exe(201, "/usr/sbin/nginx (deleted)");
	assert_int_equal(ws_process_resource_fill(r, 201, "h", root), 0);
	assert_string_equal(sattr(r, "service.name"), "nginx");
	assert_string_equal(sattr(r, "process.executable.name"), "nginx");
	assert_null(sattr(r, "process.command_line"));      /* no cmdline file */
	assert_null(sattr(r, "container.id"));

	/* no exe link (kernel thread, or no permission): comm */
	put_stat(202, "kworker/0:1 (x)", 3);
	assert_int_equal(ws_process_resource_fill(r, 202, "h", root), 0);
	assert_string_equal(sattr(r, "service.name"), "kworker/0:1 (x)");
	assert_string_equal(sattr(r, "process.executable.name"), "kworker/0:1 (x)");
	assert_string_equal(sattr(r, "host.name"), "h");
	ws_resource_unref(r);
}

static void test_fill_gone_and_unreadable_environ(void **state)
{
	struct ws_resource *r = ws_resource_new(0);
	struct ws_proc_fill_info info;
	char path[256];
	static const char *minimal[] = { "service.name", "process.pid", "host.name" };

	assert_int_equal(ws_process_resource_fill_ex(r, 999999, "node-1", root, &info), -ENOENT);
	assert_true(info.gone);
	assert_attr_order(r, minimal, 3);
	assert_string_equal(sattr(r, "service.name"), "unknown_service");
	assert_int_equal(ws_resource_find_attr(r, "process.pid")->v.i, 999999);
	assert_string_equal(sattr(r, "host.name"), "node-1");
	assert_int_equal(r->start_time, 0);

	/* environ that cannot be read (a directory here; EACCES without root in real life) */
	put_stat(300, "redis-server", 7);
	snprintf(path, sizeof(path), "%s/300/environ", root);
	assert_int_equal(mkdir(path, 0755), 0);
	put_exe(300, "/usr/bin/redis-server");
	assert_int_equal(ws_process_resource_fill_ex(r, 300, "node-1", root, &info), 0);
	assert_int_equal(info.environ_errno, EISDIR);
	assert_string_equal(sattr(r, "service.name"), "redis-server");
	/* a multi-call binary: started as redis-server, the file is redis-check-rdb */
	put_stat(301, "redis-server", 8);
	put_exe(301, "/usr/bin/redis-check-rdb");
	assert_int_equal(ws_process_resource_fill_ex(r, 301, "node-1", root, &info), 0);
	assert_string_equal(sattr(r, "service.name"), "redis-server");
	assert_string_equal(sattr(r, "process.executable.name"), "redis-check-rdb");
	ws_resource_unref(r);
}

/* A long OTEL_RESOURCE_ATTRIBUTES cannot push out the process's identity. */
static void test_fill_attribute_flood(void **state)
{
	char env[8192];
	size_t n = 0;
	struct ws_resource *r = ws_resource_new(0);
	struct ws_proc_fill_info info;
	char cmd[600];

	n += (size_t)snprintf(env + n, sizeof(env) - n, "OTEL_RESOURCE_ATTRIBUTES=");
	for (int i = 0; i < 60; i++)
		n += (size_t)snprintf(env + n, sizeof(env) - n, "key.number.%d=%s,", i,
				      "a-value-that-takes-some-room-in-the-arena");
	env[n++] = '\0';
	memset(cmd, 'c', sizeof(cmd));
	put_stat(400, "app", 9);
	put(400, "environ", env, n);
	put(400, "cmdline", cmd, sizeof(cmd));
	put(400, "cgroup", LIT("0::/docker/" ID64 "\n"));
	put_exe(400, "/opt/app");
	assert_int_equal(ws_process_resource_fill_ex(r, 400, "node-1", root, &info), 0);
	assert_true(info.attrs_dropped > 0);
	assert_non_null(ws_resource_find_attr(r, "process.pid"));
	assert_string_equal(sattr(r, "process.executable.name"), "app");
	assert_int_equal(strlen(sattr(r, "process.command")), WS_PROC_CMDLINE_MAX);
	assert_string_equal(sattr(r, "host.name"), "node-1");
	assert_string_equal(sattr(r, "container.id"), ID64);
	assert_string_equal(sattr(r, "key.number.0"), "a-value-that-takes-some-room-in-the-arena");
	assert_true(r->n_attrs <= WS_RES_MAX_ATTRS);
	assert_true(r->arena_used <= WS_RES_ARENA);
	ws_resource_unref(r);
}

/* The real /proc, for this test process itself. */
static void test_fill_self(void **state)
{
	struct ws_resource *r = ws_resource_new(0);
	struct ws_proc_fill_info info;
	char link[4096], host[256];
	ssize_t n = readlink("/proc/self/exe", link, sizeof(link) - 1);
	const char *base;

	assert_true(n > 0);
	link[n] = '\0';
	base = strrchr(link, '/') + 1;
	gethostname(host, sizeof(host));
	assert_int_equal(ws_process_resource_fill_ex(r, (uint32_t)getpid(), host, "/proc", &info), 0);
	assert_int_equal(info.environ_errno, 0);
	assert_true(r->start_time > 0);
	assert_string_equal(sattr(r, "process.executable.name"), base);
	assert_non_null(strstr(sattr(r, "process.command"), "test_process"));
	assert_int_equal(ws_resource_find_attr(r, "process.pid")->v.i, getpid());
	if (!getenv("OTEL_SERVICE_NAME") && !getenv("OTEL_RESOURCE_ATTRIBUTES"))
		assert_string_equal(sattr(r, "service.name"), base);
	ws_resource_unref(r);
}

/* ---- cache ----------------------------------------------------------------------- */

static void test_cache_hits_forget_reuse(void **state)
{
	struct ws_proc_cache *c = ws_proc_cache_new(16, "node-1", root);
	struct ws_proc_cache_stats st;
	struct ws_resource *a, *b, *kept;

	assert_non_null(c);
	put_stat(500, "svc", 100);
	put_exe(500, "/bin/svc");
	a = ws_proc_cache_get(c, 500);
	assert_non_null(a);
	assert_int_equal(a->refs, 1);
	assert_ptr_equal(ws_proc_cache_get(c, 500), a);
	ws_proc_cache_get_stats(c, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);

	/* a caller keeps its own reference across forget */
	kept = a;
	ws_resource_ref(kept);
	ws_proc_cache_forget(c, 500);
	assert_int_equal(kept->refs, 1);
	b = ws_proc_cache_get(c, 500);
	assert_ptr_not_equal(b, kept);
	assert_string_equal(sattr(kept, "service.name"), "svc");
	ws_resource_unref(kept);

	/* pid reused without forget: noticed at revalidation through the start time */
	ws_proc_cache_set_revalidate_ns(c, 0);
	put_stat(500, "other", 101);
	put_exe(500, "/bin/other");
	a = ws_proc_cache_get(c, 500);
	assert_ptr_not_equal(a, b);
	assert_string_equal(sattr(a, "service.name"), "other");
	assert_int_equal(a->start_time, 101);
	ws_proc_cache_get_stats(c, &st);
	assert_int_equal(st.pid_reused, 1);
	/* same start time: the same resource */
	assert_ptr_equal(ws_proc_cache_get(c, 500), a);

	/* the process exits: its resource stays for late spans */
	ws_proc_cache_forget(c, 501);            /* unknown pid: nothing */
	put_stat(502, "brief", 5);
	b = ws_proc_cache_get(c, 502);
	assert_string_equal(sattr(b, "service.name"), "brief");
	{
		char path[256];

		snprintf(path, sizeof(path), "%s/502/stat", root);
		unlink(path);
	}
	assert_ptr_equal(ws_proc_cache_get(c, 502), b);
	ws_proc_cache_free(c);
}

static void test_cache_gone_minimal_and_counters(void **state)
{
	struct ws_proc_cache *c = ws_proc_cache_new(16, "node-1", root);
	struct ws_proc_cache_stats st;
	struct ws_resource *r;
	char path[256], *rep = NULL;
	size_t rep_len = 0;
	FILE *f;

	assert_non_null(c);
	r = ws_proc_cache_get(c, 888888);
	assert_non_null(r);
	assert_string_equal(sattr(r, "service.name"), "unknown_service");
	assert_string_equal(sattr(r, "host.name"), "node-1");
	assert_int_equal(ws_resource_find_attr(r, "process.pid")->v.i, 888888);

	/* two processes with unreadable environ: counted twice, logged once */
	for (uint32_t pid = 600; pid < 602; pid++) {
		put_stat(pid, "x", 1);
		snprintf(path, sizeof(path), "%s/%u/environ", root, pid);
		mkdir(path, 0755);
		assert_non_null(ws_proc_cache_get(c, pid));
	}
	ws_proc_cache_get_stats(c, &st);
	assert_int_equal(st.gone, 1);
	assert_int_equal(st.environ_unreadable, 2);
	assert_int_equal(st.entries, 3);
	f = open_memstream(&rep, &rep_len);
	ws_proc_cache_report(c, f);
	fclose(f);
	assert_non_null(strstr(rep, "proc_cache_gone 1\n"));
	assert_non_null(strstr(rep, "proc_cache_environ_unreadable 2\n"));
	assert_non_null(strstr(rep, "proc_cache_misses 3\n"));
	free(rep);
	ws_proc_cache_free(c);
}

static void test_cache_eviction_bound(void **state)
{
	struct ws_proc_cache *c = ws_proc_cache_new(4, "n", root);
	struct ws_proc_cache_stats st;
	struct ws_resource *hot;

	assert_non_null(c);
	for (uint32_t pid = 700; pid < 720; pid++)
		put_stat(pid, "p", pid);
	hot = ws_proc_cache_get(c, 700);
	for (uint32_t pid = 701; pid < 720; pid++) {
		assert_non_null(ws_proc_cache_get(c, pid));
		assert_ptr_equal(ws_proc_cache_get(c, 700), hot);    /* kept hot: never evicted */
	}
	ws_proc_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 4);
	assert_int_equal(st.evictions, 19 - 3);
	assert_int_equal(st.misses, 20);
	ws_proc_cache_free(c);
}

static void test_cache_node_attrs(void **state)
{
	struct ws_proc_cache *c = ws_proc_cache_new(8, "node-1", root);
	static const char env[] = "OTEL_RESOURCE_ATTRIBUTES=k8s.cluster.name=mine\0";
	struct ws_resource *r, *before;

	assert_non_null(c);
	put_stat(800, "api", 1);
	put(800, "environ", env, sizeof(env) - 1);
	before = ws_proc_cache_get(c, 800);
	ws_resource_ref(before);
	assert_null(sattr(before, "cloud.region"));
	assert_int_equal(ws_proc_cache_set_node_attrs(c,
		"k8s.cluster.name=prod,cloud.region=eu-west-1,service.name=agent,host.name=other,broken"), 0);
	r = ws_proc_cache_get(c, 800);
	assert_ptr_not_equal(r, before);
	assert_null(sattr(before, "cloud.region"));          /* resources handed out are never changed */
	ws_resource_unref(before);
	assert_string_equal(sattr(r, "cloud.region"), "eu-west-1");
	assert_string_equal(sattr(r, "k8s.cluster.name"), "mine");   /* process level wins */
	assert_string_equal(sattr(r, "host.name"), "node-1");
	assert_string_equal(sattr(r, "service.name"), "api");       /* never from the node */
	/* and on minimal resources of vanished processes */
	r = ws_proc_cache_get(c, 777777);
	assert_string_equal(sattr(r, "cloud.region"), "eu-west-1");
	assert_int_equal(ws_proc_cache_set_node_attrs(c, NULL), 0);
	r = ws_proc_cache_get(c, 800);
	assert_null(sattr(r, "cloud.region"));
	ws_proc_cache_free(c);
}

/* Interned keys from the environment go through the encoder as valid OTLP/JSON. */
static void test_resource_encodes(void **state)
{
	static const char env[] = "OTEL_RESOURCE_ATTRIBUTES=we\"ird\\key=v%0A%FF\0";
	struct ws_proc_cache *c = ws_proc_cache_new(8, "node-1", root);
	struct ws_span s;
	const struct ws_span *sp[1] = { &s };
	struct ws_buf b;
	FILE *p;

	assert_non_null(c);
	put_stat(900, "enc", 1);
	put(900, "environ", env, sizeof(env) - 1);
	put(900, "cmdline", LIT("enc\x1b[31m\0arg\0"));
	memset(&s, 0, sizeof(s));
	s.res = ws_proc_cache_get(c, 900);
	assert_non_null(s.res);
	ws_buf_init(&b, 1 << 16);
	assert_int_equal(ws_otlp_json_encode(sp, 1, &b), 0);
	ws_buf_putc(&b, '\0');
	assert_non_null(strstr((char *)b.data,
		"{\"key\":\"we\\\"ird\\\\key\",\"value\":{\"stringValue\":\"v\\u000a\xef\xbf\xbd\"}}"));
	assert_non_null(strstr((char *)b.data, "\"stringValue\":\"enc\\u001b[31m\""));
	p = popen("python3 -c 'import json,sys; json.load(sys.stdin)'", "w");
	assert_non_null(p);
	fputs((char *)b.data, p);
	assert_int_equal(pclose(p), 0);
	ws_buf_free(&b);
	ws_proc_cache_free(c);
}

/* A process that exited before its /proc entry was read is named by the kernel's comm. */
static void test_cache_gone_named_by_comm(void **state)
{
	struct ws_proc_cache *c = ws_proc_cache_new(4, "n", "/nonexistent-proc-root");
	struct ws_resource *r;
	const struct ws_attr *a;

	assert_non_null(c);
	r = ws_proc_cache_get_hint(c, 4242, "curl");
	assert_non_null(r);
	a = ws_resource_find_attr(r, "service.name");
	assert_non_null(a);
	assert_string_equal(ws_resource_attr_str(r, a), "curl");
	a = ws_resource_find_attr(r, "process.executable.name");
	assert_non_null(a);
	assert_string_equal(ws_resource_attr_str(r, a), "curl");
	r = ws_proc_cache_get_hint(c, 4243, "");
	assert_string_equal(ws_resource_service_name(r), "unknown_service");
	ws_proc_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_parse),
		cmocka_unit_test(test_environ_find),
		cmocka_unit_test(test_otel_attrs),
		cmocka_unit_test(test_cgroup_shapes),
		cmocka_unit_test(test_cmdline_format),
		cmocka_unit_test(test_fill_full),
		cmocka_unit_test(test_fill_service_name_sources),
		cmocka_unit_test(test_fill_gone_and_unreadable_environ),
		cmocka_unit_test(test_fill_attribute_flood),
		cmocka_unit_test(test_fill_self),
		cmocka_unit_test(test_cache_hits_forget_reuse),
		cmocka_unit_test(test_cache_gone_minimal_and_counters),
		cmocka_unit_test(test_cache_eviction_bound),
		cmocka_unit_test(test_cache_node_attrs),
		cmocka_unit_test(test_resource_encodes),
		cmocka_unit_test(test_cache_gone_named_by_comm),
	};

	return cmocka_run_group_tests(tests, setup_tree, teardown_tree);
}
