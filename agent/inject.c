/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* traceparent injection, loader side: see inject.h. */
#include "inject.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "wirespan.skel.h"

#define WS_CGROUP2_MAGIC 0x63677270

struct ws_inject {
	int cg_fd;
	struct bpf_link *sockops;
	int msg_fd, map_fd;
	bool msg_attached;
	int dst_fd, cnt_fd;
	int ncpu;
};

bool ws_inject_supported(void)
{
	return libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SK_MSG, NULL) > 0 &&
	       libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SOCK_OPS, NULL) > 0 &&
	       libbpf_probe_bpf_helper(BPF_PROG_TYPE_SK_MSG, BPF_FUNC_msg_push_data, NULL) > 0 &&
	       libbpf_probe_bpf_helper(BPF_PROG_TYPE_SK_MSG, BPF_FUNC_msg_pop_data, NULL) > 0 &&
	       libbpf_probe_bpf_helper(BPF_PROG_TYPE_SK_MSG, BPF_FUNC_loop, NULL) > 0 &&
	       libbpf_probe_bpf_helper(BPF_PROG_TYPE_SK_MSG, BPF_FUNC_ringbuf_reserve, NULL) > 0;
}

bool ws_inject_configure(struct wirespan_bpf *skel, enum ws_inject_mode mode)
{
	bool on = mode != WS_INJECT_OFF && ws_inject_supported();

	if (mode != WS_INJECT_OFF && !on)
		fprintf(stderr, "wirespan: note: traceparent injection off: this kernel lacks sk_msg,"
			" sockops or bpf_msg_push_data\n");
	bpf_program__set_autoload(skel->progs.ws_inj_sockops, on);
	bpf_program__set_autoload(skel->progs.ws_inj_msg, on);
	skel->rodata->inj_all = mode == WS_INJECT_ALL;
	return on;
}

static const char *const cg_paths[] = { "/sys/fs/cgroup/unified", "/sys/fs/cgroup" };

static int cgroup2_root(void)
{
	for (size_t i = 0; i < sizeof(cg_paths) / sizeof(cg_paths[0]); i++) {
		struct statfs sf;

		if (statfs(cg_paths[i], &sf) == 0 && sf.f_type == WS_CGROUP2_MAGIC)
			return open(cg_paths[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	return -ENOENT;
}

int ws_inject_attach(struct wirespan_bpf *skel, struct ws_inject **out)
{
	struct ws_inject *in = calloc(1, sizeof(*in));
	int err;

	*out = NULL;
	if (!in)
		return -ENOMEM;
	in->cg_fd = -1;
	in->ncpu = libbpf_num_possible_cpus();
	in->msg_fd = bpf_program__fd(skel->progs.ws_inj_msg);
	in->map_fd = bpf_map__fd(skel->maps.ws_inj_socks);
	in->dst_fd = bpf_map__fd(skel->maps.ws_inj_dst);
	in->cnt_fd = bpf_map__fd(skel->maps.ws_inj_counters);
	/* The verdict program first: a socket added before it is attached would go by
	 * unrewritten, never the other way round. */
	if (bpf_prog_attach(in->msg_fd, in->map_fd, BPF_SK_MSG_VERDICT, 0)) {
		err = -errno;
		fprintf(stderr, "wirespan: failed to attach ws_inj_msg (sk_msg) to its sockhash: %s\n",
			strerror(-err));
		goto fail;
	}
	in->msg_attached = true;
	in->cg_fd = cgroup2_root();
	if (in->cg_fd < 0) {
		err = in->cg_fd < 0 ? in->cg_fd : -ENOENT;
		fprintf(stderr, "wirespan: no cgroup v2 mount for the sockops program: %s\n", strerror(-err));
		goto fail;
	}
	in->sockops = bpf_program__attach_cgroup(skel->progs.ws_inj_sockops, in->cg_fd);
	if (!in->sockops) {
		err = -errno;
		fprintf(stderr, "wirespan: failed to attach ws_inj_sockops to the cgroup root: %s\n",
			strerror(-err));
		goto fail;
	}
	*out = in;
	return 0;
fail:
	ws_inject_detach(in);
	return err;
}

void ws_inject_detach(struct ws_inject *in)
{
	if (!in)
		return;
	bpf_link__destroy(in->sockops);
	if (in->msg_attached)
		bpf_prog_detach2(in->msg_fd, in->map_fd, BPF_SK_MSG_VERDICT);
	if (in->cg_fd >= 0)
		close(in->cg_fd);
	free(in);
}

int ws_inject_set_dst(struct ws_inject *in, uint16_t port, bool on)
{
	struct ws_inj_dst_key k = { .port = port };
	uint8_t one = 1;

	if (!in)
		return -EINVAL;
	if (on)
		return bpf_map_update_elem(in->dst_fd, &k, &one, BPF_ANY) ? -errno : 0;
	return bpf_map_delete_elem(in->dst_fd, &k) && errno != ENOENT ? -errno : 0;
}

int ws_inject_read_counters(struct ws_inject *in, uint64_t out[WS_INJ__MAX])
{
	uint64_t *v;

	if (!in || in->ncpu <= 0)
		return -EINVAL;
	v = calloc((size_t)in->ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t k = 0; k < WS_INJ__MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(in->cnt_fd, &k, v) == 0)
			for (int c = 0; c < in->ncpu; c++)
				out[k] += v[c];
	}
	free(v);
	return 0;
}

const char *ws_inject_counter_name(enum ws_inj_counter c)
{
	static const char *const names[WS_INJ__MAX] = {
		[WS_INJ_DONE] = "inject_done",
		[WS_INJ_SKIP_DEST] = "inject_skip_destination",
		[WS_INJ_SKIP_SCOPE] = "inject_skip_scope",
		[WS_INJ_SKIP_NOT_HTTP1] = "inject_skip_not_http1",
		[WS_INJ_SKIP_HAS_TP] = "inject_skip_has_traceparent",
		[WS_INJ_SKIP_PARTIAL] = "inject_skip_partial_headers",
		[WS_INJ_SKIP_HELPER] = "inject_skip_helper_failed",
		[WS_INJ_RB_DROP] = "inject_skip_ringbuf_full",
		[WS_INJ_SOCKS] = "inject_sockets_added",
	};
	return c < WS_INJ__MAX && names[c] ? names[c] : "unknown";
}
