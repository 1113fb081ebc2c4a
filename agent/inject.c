/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* traceparent injection, loader side: see inject.h. */
#include "inject.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "wirespan.skel.h"

#define WS_CGROUP2_MAGIC 0x63677270

struct ws_inject {
	struct wirespan_bpf *skel;
	int cg_fd;
	struct bpf_link *sockops;
	int msg_fd, map_fd;
	bool msg_attached;
	int dst_fd, cnt_fd;
	int ncpu;
	struct ws_inject_adopt_stats adopt;
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

bool ws_inject_configure(struct wirespan_bpf *skel, enum ws_inject_mode mode, const uint64_t key[2])
{
	bool on = mode != WS_INJECT_OFF && ws_inject_supported();

	if (mode != WS_INJECT_OFF && !on)
		fprintf(stderr, "wirespan: note: traceparent injection off: this kernel lacks sk_msg,"
			" sockops or bpf_msg_push_data\n");
	bpf_program__set_autoload(skel->progs.ws_inj_sockops, on);
	bpf_program__set_autoload(skel->progs.ws_inj_msg, on);
	skel->rodata->inj_all = mode == WS_INJECT_ALL;
	skel->rodata->inj_enabled = on;
	skel->rodata->inj_key[0] = key[0];
	skel->rodata->inj_key[1] = key[1];
	/* Which request each server thread serves: only needed with injection. */
	if (!on)
		bpf_map__set_max_entries(skel->maps.ws_inj_srv, 1);
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
	in->skel = skel;
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
	/* Every destination: the kernel follows server requests from the start. */
	if (skel->rodata->inj_all)
		skel->bss->ws_inj_track = 1;
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
	/* From the first destination on, the kernel follows which request each server
	 * thread serves (bpf/lib/inj_srv.h); it costs nothing before. */
	if (on)
		in->skel->bss->ws_inj_track = 1;
	if (on)
		return bpf_map_update_elem(in->dst_fd, &k, &one, BPF_ANY) ? -errno : 0;
	return bpf_map_delete_elem(in->dst_fd, &k) && errno != ENOENT ? -errno : 0;
}

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

static uint16_t sa_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

int ws_inject_adopt(struct ws_inject *in, uint32_t pid, int fd, uint16_t lport, uint16_t rport)
{
	struct sockaddr_storage la, ra;
	socklen_t ll = sizeof(la), rl = sizeof(ra), cl = sizeof(uint64_t);
	uint64_t cookie = 0, sfd64;
	int pfd, sfd, err = 0;

	if (!in)
		return -EINVAL;
	pfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pfd < 0) {
		in->adopt.gone++;
		return -errno;
	}
	sfd = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
	err = sfd < 0 ? -errno : 0;
	close(pfd);
	if (sfd < 0) {
		in->adopt.gone++;
		return err;
	}
	/* The fd may have been closed and reused since the record: it must still be this
	 * connection. */
	if (getsockname(sfd, (struct sockaddr *)&la, &ll) || getpeername(sfd, (struct sockaddr *)&ra, &rl) ||
	    sa_port(&la) != lport || sa_port(&ra) != rport) {
		in->adopt.gone++;
		close(sfd);
		return -ESTALE;
	}
	if (getsockopt(sfd, SOL_SOCKET, SO_COOKIE, &cookie, &cl)) {
		err = -errno;
		in->adopt.failed++;
		close(sfd);
		return err;
	}
	sfd64 = (uint64_t)sfd;
	if (bpf_map_update_elem(in->map_fd, &cookie, &sfd64, BPF_NOEXIST) == 0) {
		in->adopt.adopted++;
	} else if (errno == EEXIST) {
		in->adopt.present++;
	} else {
		err = -errno;
		in->adopt.failed++;
	}
	close(sfd);
	return err;
}

void ws_inject_adopt_stats(const struct ws_inject *in, struct ws_inject_adopt_stats *out)
{
	if (in)
		*out = in->adopt;
	else
		memset(out, 0, sizeof(*out));
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
		[WS_INJ_TRACE_RECEIVED] = "inject_trace_received",
		[WS_INJ_TRACE_DERIVED] = "inject_trace_derived",
		[WS_INJ_TRACE_IDLE] = "inject_trace_new_no_request",
		[WS_INJ_TRACE_SEVERAL] = "inject_trace_new_several_requests",
		[WS_INJ_SRV_FULL] = "inject_server_threads_full",
	};
	return c < WS_INJ__MAX && names[c] ? names[c] : "unknown";
}
