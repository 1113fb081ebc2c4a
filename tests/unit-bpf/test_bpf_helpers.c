/* The pure bpf/lib helpers run in the kernel through BPF_PROG_TEST_RUN
 * (tests/bpf/helpers_test.bpf.c, built from the same headers as wirespan.bpf.o):
 * sequence arithmetic with wraparound and the FIN correction, the mmsg start choice, the ring's wake-up rule,
 * the capture budget (exhausted mid-message, direction flips, policies, truncation,
 * ciphertext), port sets empty and set, the scoping verdict, and the helper-failure
 * map (counted per {error, file, line}, full map counted, never silent).
 * Root only (loading BPF): otherwise it says so and exits 77 (tests/run_unit.sh: SKIP). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/bpf_errors.h"
#include "headers/ws_go_abi.h"
#include "tests/bpf/helpers_test.h"
#include "helpers_test.skel.h"

#define WS_CONN_H2 (1u << 4)   /* bpf/maps/conns.h */

static struct helpers_test_bpf *skel;

static void run(struct bpf_program *p, void *ctx, size_t size)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = ctx, .ctx_size_in = (__u32)size);
	int err = bpf_prog_test_run_opts(bpf_program__fd(p), &o);

	if (err)
		fail_msg("BPF_PROG_TEST_RUN %s: %s", bpf_program__name(p), strerror(errno));
	assert_int_equal(o.retval, 0);
}

static int setup(void **state)
{
	skel = helpers_test_bpf__open();
	if (!skel)
		return -1;
	/* Maps the helpers' headers declare but no test program uses. */
	bpf_map__set_autocreate(skel->maps.ws_conns, false);
	bpf_map__set_autocreate(skel->maps.ws_pid_filter, false);
	skel->rodata->go_enabled = 1;
	skel->rodata->py_enabled = 1;
	if (helpers_test_bpf__load(skel)) {
		fprintf(stderr, "test_bpf_helpers: loading tests/bpf/helpers_test.bpf.o failed\n");
		helpers_test_bpf__destroy(skel);
		skel = NULL;
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	helpers_test_bpf__destroy(skel);
	return 0;
}

static void test_seq(void **state)
{
	static const struct {
		uint32_t end, n, want;
	} starts[] = {
		{ 1000, 100, 900 },
		{ 50, 100, 0xffffffce },          /* wraps below 0 */
		{ 0, 0, 0 },
		{ 0xffffffff, 0xffffffff, 0 },
		{ 5, 0x80000000u, 0x80000005u },  /* half the space */
	};
	static const struct {
		uint32_t copied, rcv_nxt;
		uint8_t shut;
		uint32_t want;
	} ends[] = {
		{ 100, 100, 1, 99 },              /* FIN received and consumed: it counted one */
		{ 100, 101, 1, 100 },             /* FIN received, not yet read */
		{ 100, 100, 0, 100 },             /* caught up, no FIN */
		{ 100, 100, 2, 100 },             /* SEND_SHUTDOWN only */
		{ 100, 100, 3, 99 },
		{ 0, 0, 1, 0xffffffff },          /* the correction wraps too */
	};

	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		struct ht_seq t = { .end = starts[i].end, .n = starts[i].n };

		run(skel->progs.test_seq, &t, sizeof(t));
		assert_int_equal(t.start, starts[i].want);
	}
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		struct ht_seq t = { .copied = ends[i].copied, .rcv_nxt = ends[i].rcv_nxt,
				    .shutdown = ends[i].shut };

		run(skel->progs.test_seq, &t, sizeof(t));
		assert_int_equal(t.rcv_end, ends[i].want);
	}
}

static void test_mmsg(void **state)
{
	static const struct {
		uint32_t nmsg;
		uint8_t end_ok, enter_ok;
		uint32_t end_seq, total, seq_enter;
		uint16_t flags_in;
		uint32_t want;
		uint16_t flags_out;
	} cases[] = {
		/* every message reported: from the exit's end */
		{ 3, 1, 1, 1000, 300, 7, 0, 700, 0 },
		{ 8, 1, 0, 10, 20, 7, WS_F_CIPHER, 0xfffffff6, WS_F_CIPHER },
		/* more messages than reported: the entry's seq, NO_SEQ cleared */
		{ 9, 1, 1, 1000, 300, 42, 0, 42, 0 },
		{ 9, 0, 1, 1000, 300, 42, WS_F_NO_SEQ | WS_F_CIPHER, 42, WS_F_CIPHER },
		/* end unreadable, entry read */
		{ 2, 0, 1, 0, 0, 5, WS_F_NO_SEQ, 5, 0 },
		/* neither */
		{ 9, 1, 0, 1000, 300, 42, 0, 0, WS_F_NO_SEQ },
		{ 2, 0, 0, 1000, 300, 42, WS_F_CIPHER, 0, WS_F_NO_SEQ | WS_F_CIPHER },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ht_mmsg t = { .nmsg = cases[i].nmsg, .end_ok = cases[i].end_ok,
				     .enter_ok = cases[i].enter_ok, .end_seq = cases[i].end_seq,
				     .total = cases[i].total, .seq_enter = cases[i].seq_enter,
				     .flags = cases[i].flags_in };

		run(skel->progs.test_mmsg, &t, sizeof(t));
		assert_int_equal(t.start, cases[i].want);
		assert_int_equal(t.flags, cases[i].flags_out);
	}
}

static void test_budget(void **state)
{
	enum { E = WS_DIR_EGRESS, I = WS_DIR_INGRESS, D = WS_CAPMODE_DEFAULT, OFF = WS_CAPMODE_OFF,
	       ALL = WS_CAPMODE_ALL, B = WS_F_BUDGET, C = WS_F_CIPHER };
	static const struct {
		const char *what;
		uint8_t run_dir; uint32_t run_captured; uint8_t mode, conn_flags;
		uint8_t dir; uint32_t bytes, cap; uint8_t trunc; uint16_t flags;
		uint32_t n; uint16_t flags_out; uint8_t run_dir_out; uint32_t run_captured_out;
	} cases[] = {
		{ "fresh run", E, 0, D, 0, E, 100, 256, 0, 0, 100, 0, E, 100 },
		{ "exhausted mid-message", E, 200, D, 0, E, 100, 256, 0, 0, 56, B, E, 256 },
		{ "exhausted", E, 256, D, 0, E, 10, 256, 0, 0, 0, B, E, 256 },
		{ "over a lowered cap", E, 1000, D, 0, E, 10, 256, 0, 0, 0, B, E, 1000 },
		{ "direction flip restarts the run", I, 256, D, 0, E, 10, 256, 0, 0, 10, 0, E, 10 },
		{ "exactly the cap", I, 0, D, 0, I, 256, 256, 0, 0, 256, 0, I, 256 },
		{ "cap clamped to WS_MAX_PAYLOAD", E, 0, D, 0, E, 10000, 100000, 0, 0, WS_MAX_PAYLOAD, B, E, WS_MAX_PAYLOAD },
		{ "cap 0", E, 0, D, 0, E, 10, 0, 0, 0, 0, B, E, 0 },
		{ "no bytes", E, 0, D, 0, E, 0, 256, 0, 0, 0, 0, E, 0 },
		{ "policy OFF", I, 5, OFF, 0, E, 100, 256, 0, 0, 0, B, E, 0 },
		{ "policy ALL", E, 256, ALL, 0, E, 5000, 256, 0, 0, WS_MAX_PAYLOAD, 0, E, 256 },
		{ "HTTP/2 preface: all", E, 256, D, WS_CONN_H2, E, 300, 256, 0, 0, 300, 0, E, 256 },
		{ "HTTP/2 but policy OFF", E, 0, OFF, WS_CONN_H2, E, 300, 256, 0, 0, 0, B, E, 0 },
		{ "MSG_TRUNC: nothing, the direction counts", E, 100, D, 0, I, 50, 256, 1, 0, 0, 0, I, 0 },
		{ "MSG_TRUNC same direction keeps the run", I, 100, D, 0, I, 50, 256, 1, 0, 0, 0, I, 100 },
		{ "ciphertext: nothing, run untouched", E, 100, D, 0, I, 50, 256, 0, C, 0, C, E, 100 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ht_budget t = { .run_dir = cases[i].run_dir, .run_captured = cases[i].run_captured,
				       .cap_mode = cases[i].mode, .conn_flags = cases[i].conn_flags,
				       .dir = cases[i].dir, .bytes = cases[i].bytes, .cap = cases[i].cap,
				       .trunc = cases[i].trunc, .flags = cases[i].flags };

		run(skel->progs.test_budget, &t, sizeof(t));
		if (t.n != cases[i].n || t.flags != cases[i].flags_out || t.run_dir != cases[i].run_dir_out ||
		    t.run_captured != cases[i].run_captured_out)
			fail_msg("%s: n %u flags %#x run %u/%u, want %u %#x %u/%u", cases[i].what, t.n, t.flags,
				 t.run_dir, t.run_captured, cases[i].n, cases[i].flags_out,
				 cases[i].run_dir_out, cases[i].run_captured_out);
	}
}

static void test_ports(void **state)
{
	static const struct {
		uint32_t n;
		uint16_t set0, set5, set15, sport, dport;
		uint8_t want;
	} cases[] = {
		{ 0, 80, 0, 0, 80, 80, 0 },      /* empty set: an entry beyond n does not count */
		{ 0, 0, 0, 0, 0, 0, 0 },
		{ 1, 80, 0, 0, 80, 5555, 1 },    /* local port */
		{ 1, 80, 0, 0, 5555, 80, 1 },    /* remote port */
		{ 1, 80, 0, 0, 81, 5555, 0 },
		{ 3, 80, 443, 0, 443, 1, 0 },    /* at index 5, beyond n */
		{ 6, 80, 443, 0, 443, 1, 1 },
		{ 16, 1, 2, 65535, 7, 65535, 1 }, /* the last slot */
		{ 99, 1, 2, 3, 3, 9, 1 },         /* n beyond the array stops at its size */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ht_scope t = { .n = cases[i].n, .sport = cases[i].sport, .dport = cases[i].dport };

		t.set[0] = cases[i].set0;
		t.set[5] = cases[i].set5;
		t.set[15] = cases[i].set15;
		run(skel->progs.test_scope, &t, sizeof(t));
		if (t.match != cases[i].want)
			fail_msg("case %zu: match %u, want %u", i, t.match, cases[i].want);
		/* The out-of-scope fast path: excluded only with both ports known. */
		if (t.exclude != (cases[i].sport && cases[i].dport && !cases[i].want))
			fail_msg("case %zu: exclude %u", i, t.exclude);
	}
}

/* ports_exclude never rules out a connection with a port still unknown (0). */
static void test_ports_exclude(void **state)
{
	static const struct {
		uint16_t sport, dport;
		uint8_t want;
	} cases[] = {
		{ 5555, 6666, 1 },   /* connected, neither port selected */
		{ 80, 6666, 0 },     /* selected local port */
		{ 6666, 80, 0 },     /* selected remote port */
		{ 0, 6666, 0 },      /* local port gone (closing sock): decided by its entry */
		{ 5555, 0, 0 },      /* not connected yet (fast open): decided at exit */
		{ 0, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ht_scope t = { .n = 1, .sport = cases[i].sport, .dport = cases[i].dport };

		t.set[0] = 80;
		run(skel->progs.test_scope, &t, sizeof(t));
		if (t.exclude != cases[i].want)
			fail_msg("case %zu: exclude %u, want %u", i, t.exclude, cases[i].want);
	}
}

static void test_verdict(void **state)
{
	enum { P = WS_FILTER_PID, CM = WS_FILTER_COMM, PT = WS_FILTER_PORT };
	static const struct {
		uint32_t mode;
		uint8_t agent, pid_hit, comm_hit;
		int32_t want;
	} cases[] = {
		{ 0, 0, 0, 0, 1 },             /* nothing scoped: everyone */
		{ 0, 1, 0, 0, -1 },            /* never the agent */
		{ P, 1, 1, 0, -1 },
		{ P, 0, 1, 0, 1 },
		{ P, 0, 0, 0, -1 },
		{ P, 0, 0, 1, -1 },            /* a comm hit without comm scoping */
		{ CM, 0, 0, 1, 1 },
		{ CM, 0, 1, 0, -1 },           /* a pid hit without pid scoping */
		{ P | CM, 0, 0, 1, 1 },
		{ P | PT, 0, 0, 0, 0 },        /* only the port filter can still select it */
		{ PT, 0, 0, 0, 0 },
		{ P | CM | PT, 0, 1, 0, 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ht_scope t = { .mode = cases[i].mode, .is_agent = cases[i].agent,
				      .pid_hit = cases[i].pid_hit, .comm_hit = cases[i].comm_hit };

		run(skel->progs.test_scope, &t, sizeof(t));
		if (t.verdict != cases[i].want)
			fail_msg("case %zu: verdict %d, want %d", i, t.verdict, cases[i].want);
	}
}

static void test_comm(void **state)
{
	static const struct {
		const char *comm, *name;
		uint8_t want;
	} cases[] = {
		{ "nginx", "nginx", 1 },
		{ "nginx", "nginx2", 0 },
		{ "nginx2", "nginx", 0 },
		{ "abc", "abd", 0 },
		{ "", "", 1 },
		{ "123456789012345", "123456789012345", 1 },   /* TASK_COMM_LEN - 1 */
		{ "123456789012345", "123456789012346", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ht_scope t = { 0 };

		strncpy(t.comm, cases[i].comm, sizeof(t.comm));
		strncpy(t.name, cases[i].name, sizeof(t.name));
		run(skel->progs.test_scope, &t, sizeof(t));
		if (t.comm_eq != cases[i].want)
			fail_msg("'%s' vs '%s': %u, want %u", cases[i].comm, cases[i].name, t.comm_eq,
				 cases[i].want);
	}
}

static uint64_t err_count(int err, uint16_t line)
{
	int ncpu = libbpf_num_possible_cpus();
	struct ws_err_key k = { .err = err, .file = WS_ERRF_TEST, .line = line };
	uint64_t *v = calloc((size_t)ncpu, sizeof(*v)), s;

	assert_non_null(v);
	if (bpf_map__lookup_elem(skel->maps.ws_errors, &k, sizeof(k), v, sizeof(*v) * (size_t)ncpu, 0)) {
		free(v);
		return 0;
	}
	s = ws_err_sum(v, ncpu);
	free(v);
	return s;
}

static uint64_t counter(uint32_t idx)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v = calloc((size_t)ncpu, sizeof(*v)), s;

	assert_non_null(v);
	assert_int_equal(bpf_map__lookup_elem(skel->maps.ws_counters, &idx, sizeof(idx), v,
					      sizeof(*v) * (size_t)ncpu, 0), 0);
	s = ws_err_sum(v, ncpu);
	free(v);
	return s;
}

/* The ring's wake-up rule: one forced wake-up per threshold's worth consumed, however
 * many records are submitted while the agent has not caught up. */
static void test_wake(void **state)
{
	const uint64_t T = 256 * 1024;
	struct ht_wake w = { .threshold = T };
	int wakes = 0;

	/* below the threshold: never */
	w.avail = T - 1;
	run(skel->progs.test_wake, &w, sizeof(w));
	assert_false(w.wake);
	assert_int_equal(w.next_cons, 0);
	/* the first submit at the threshold wakes, from consumer position 0 too */
	w.avail = T;
	run(skel->progs.test_wake, &w, sizeof(w));
	assert_true(w.wake);
	assert_int_equal(w.next_cons, T);
	/* 1000 more submits before the agent runs: no second wake-up (the storm this
	 * rule stops: every one of them forced one before) */
	for (int i = 0; i < 1000; i++) {
		w.avail = T + 700 * (uint64_t)i;   /* up to 3.7 x T */
		run(skel->progs.test_wake, &w, sizeof(w));
		wakes += w.wake;
	}
	assert_int_equal(wakes, 0);
	/* the agent consumed part of it (less than the threshold): still none */
	w.cons = T - 1;
	w.avail = 2 * T;
	run(skel->progs.test_wake, &w, sizeof(w));
	assert_false(w.wake);
	/* ... until 4 x the threshold is pending: then every submit wakes it, as before */
	for (int i = 0; i < 3; i++) {
		w.avail = 4 * T + (uint64_t)i;
		run(skel->progs.test_wake, &w, sizeof(w));
		assert_true(w.wake);
	}
	w.next_cons = T;
	/* it consumed the threshold's worth: the next backlog wakes it again */
	w.cons = T;
	run(skel->progs.test_wake, &w, sizeof(w));
	assert_true(w.wake);
	assert_int_equal(w.next_cons, 2 * T);
	/* ... but not a small remainder */
	w.cons = 5 * T;
	w.avail = 10;
	run(skel->progs.test_wake, &w, sizeof(w));
	assert_false(w.wake);
	assert_int_equal(w.next_cons, 2 * T);
	/* a threshold of 0: every submit wakes */
	w = (struct ht_wake){ .threshold = 0, .cons = 7 };
	for (int i = 0; i < 3; i++) {
		run(skel->progs.test_wake, &w, sizeof(w));
		assert_true(w.wake);
	}
}

/* The runtime context's memory of "not a registered process": kept per connection until
 * the agent registers a process (ws_rt_gen), so unregistered processes skip both hash
 * lookups, and a registration is seen at the next record. */
static void test_rt(void **state)
{
	const uint8_t both = 1u << 0 | 1u << 1;   /* WS_RT_NONE_GO | WS_RT_NONE_PY */
	uint32_t pid = (uint32_t)getpid(), gen = skel->data->ws_rt_gen;
	struct ht_rt r = { .pid = pid, .tid = (uint32_t)gettid(), .loop = 1, .egress = 1 };
	struct ws_go_proc gp = { .tls_g = -8 };
	struct stat sb;

	/* neither registered: remembered for this process at this generation */
	run(skel->progs.test_rt, &r, sizeof(r));
	assert_int_equal(r.ctx, 0);
	assert_int_equal(r.rt_none, both);
	assert_int_equal(r.rt_gen, gen);
	assert_int_equal(r.rt_pid, pid);
	/* a read of a thread that is no loop asks only about Go */
	struct ht_rt rd = { .pid = pid, .tid = r.tid };
	run(skel->progs.test_rt, &rd, sizeof(rd));
	assert_int_equal(rd.rt_none, 1u << 0);

	/* registered as Go (this executable) but the agent has not said so: the
	 * connection's answer stands, the map is not looked at */
	assert_int_equal(stat("/proc/self/exe", &sb), 0);
	gp.exe_ino = sb.st_ino;
	gp.exe_dev = (uint32_t)(major(sb.st_dev) << 20 | minor(sb.st_dev));
	assert_int_equal(bpf_map__update_elem(skel->maps.ws_go_procs, &pid, sizeof(pid), &gp, sizeof(gp), BPF_ANY), 0);
	run(skel->progs.test_rt, &r, sizeof(r));
	assert_int_equal(r.rt_none, both);
	/* said so (agent/rt_gen.h): looked at again and found (this is no Go process:
	 * its goroutine is unreadable, 0, but it is registered); CPython still is not */
	skel->data->ws_rt_gen = gen + 1;
	run(skel->progs.test_rt, &r, sizeof(r));
	assert_int_equal(r.rt_none, 1u << 1);
	assert_int_equal(r.rt_gen, gen + 1);
	/* an answer remembered for another process on the connection is not this one's */
	r.rt_none = both;
	r.rt_pid = pid + 1;
	run(skel->progs.test_rt, &r, sizeof(r));
	assert_int_equal(r.rt_none, 1u << 1);
	assert_int_equal(r.rt_pid, pid);
	bpf_map__delete_elem(skel->maps.ws_go_procs, &pid, sizeof(pid), 0);
}

static void test_err(void **state)
{
	struct ht_err t = { .err = -14 };
	struct ws_err_entry e;
	char line[160], want[160];

	run(skel->progs.test_err, &t, sizeof(t));
	run(skel->progs.test_err, &t, sizeof(t));
	t.err = -2;
	run(skel->progs.test_err, &t, sizeof(t));
	assert_true(t.line > 0);
	assert_int_equal(err_count(-14, (uint16_t)t.line), 2);
	assert_int_equal(err_count(-2, (uint16_t)t.line), 1);
	assert_int_equal(err_count(-14, (uint16_t)t.line + 1), 0);   /* the line is in the key */
	e.key = (struct ws_err_key){ .err = -14, .file = WS_ERRF_TEST, .line = (uint16_t)t.line };
	e.count = err_count(-14, e.key.line);
	ws_err_format(line, sizeof(line), &e);
	snprintf(want, sizeof(want), "bpf_error{err=-14 (EFAULT),file=tests/bpf/helpers_test.bpf.c,line=%u} 2", t.line);
	assert_string_equal(line, want);

	/* Bounded: fill it (2 keys so far), then one more is counted, not lost silently. */
	assert_int_equal(counter(WS_CNT_ERR_FULL), 0);
	for (int i = 0; i < WS_ERR_ENTRIES - 2; i++) {
		t.err = -1000 - i;
		run(skel->progs.test_err, &t, sizeof(t));
	}
	assert_int_equal(counter(WS_CNT_ERR_FULL), 0);
	t.err = -99;
	run(skel->progs.test_err, &t, sizeof(t));
	assert_int_equal(counter(WS_CNT_ERR_FULL), 1);
	assert_int_equal(err_count(-99, (uint16_t)t.line), 0);
	t.err = -14;   /* a key already there still counts */
	run(skel->progs.test_err, &t, sizeof(t));
	assert_int_equal(err_count(-14, (uint16_t)t.line), 3);
	assert_int_equal(counter(WS_CNT_ERR_FULL), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seq),
		cmocka_unit_test(test_mmsg),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_ports_exclude),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_comm),
		cmocka_unit_test(test_wake),
		cmocka_unit_test(test_rt),
		cmocka_unit_test(test_err),
	};

	if (geteuid() != 0) {
		printf("test_bpf_helpers: SKIP: not root (loading BPF and BPF_PROG_TEST_RUN need it)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
