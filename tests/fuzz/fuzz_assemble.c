/* Fuzz the whole assembly path: arbitrary sequences of ring-buffer records (data and
 * socket events on a handful of connections, payloads from the input) through
 * ws_asm_record, with time advancing and ticks in between. Records come from our own
 * kernel programs, but the payload bytes inside them are anyone's traffic, and a record
 * can be cut short or garbled by a bug: nothing may crash, leak or invoke UB. Loop,
 * task and runtime records drive the parentage state in any order. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agent/assemble.h"
#include "headers/wirespan_abi.h"

static struct ws_resource *res_fn(void *ctx, uint32_t pid, const char *comm)
{
	return ctx;
}

/* pid 11 is a Go process: goroutine evidence instead of threads */
static uint8_t runtime_fn(void *ctx, uint32_t pid)
{
	return pid == 11 ? WS_RUNTIME_GO : WS_RUNTIME_NATIVE;
}

static void emit_fn(void *ctx, const struct ws_span *const *spans, size_t n)
{
	/* touch every span field a sink would read */
	for (size_t i = 0; i < n; i++)
		for (uint16_t a = 0; a < spans[i]->n_attrs; a++)
			(void)strlen(ws_span_attr_str(spans[i], &spans[i]->attrs[a]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_asm_config cfg = {
		.ctx = { .max_nodes = 64, .link_wait_ns = 5000, .index_slots = 16,
			 .max_open_ns = 1000000, .rng_seed = 1 },
		.max_conns = 8, .conn_idle_ns = 1000000, .close_grace_ns = 3000, .max_threads = 8,
		.max_procs = 4, .actor_idle_ns = 200000, .adopt_max_uses = 2, .adopt_max_age_ns = 100000,
		.runtime_fn = runtime_fn,
	};
	struct ws_resource *res = ws_resource_new(1);
	struct ws_asm *a = ws_asm_new(&cfg, res_fn, res, emit_fn, NULL);
	uint8_t rec[sizeof(struct ws_data_event) + 512];
	uint64_t now = 1000;
	size_t off = 0;

	while (a && off + 4 <= size) {
		uint8_t op = data[off], sock = data[off + 1] & 3, misc = data[off + 2];
		size_t plen = data[off + 3];
		off += 4;
		if (plen > size - off)
			plen = size - off;
		now += 100 + misc * 10;
		memset(rec, 0, sizeof(rec));
		if (op < 200) {
			struct ws_data_event *e = (void *)rec;

			e->hdr.type = WS_EV_DATA;
			e->hdr.flags = (op & 0x40) ? WS_F_EOF : (op & 0x20 ? WS_F_NO_SEQ : 0);
			/* datagrams (keyed by socket and peer), TLS plaintext, ciphertext */
			if ((misc & 0xe0) == 0xe0)
				e->hdr.flags |= WS_F_DGRAM | WS_F_NO_SEQ;
			else if ((misc & 0xe0) == 0xc0)
				e->hdr.flags |= WS_F_TLS;
			else if ((misc & 0xe0) == 0xa0)
				e->hdr.flags |= WS_F_CIPHER;
			e->sock_id = 0x1000 + sock;
			e->pid = 10 + (misc & 1);
			e->tid = 20 + (misc & 3);
			e->enter_ns = now - 50;
			e->exit_ns = now;
			e->seq = (uint32_t)(misc * 97 + off);
			e->captured = (uint32_t)plen;
			e->bytes = (uint32_t)plen + ((op & 0x10) ? misc * 16u : 0);
			e->dir = op & 1;
			e->role = (op >> 1) % 3;
			e->rt_ctx = misc & 0x08 ? (misc & 3) : 0;
			e->tuple.saddr[10] = e->tuple.saddr[11] = 0xff;
			e->tuple.saddr[12] = 127;
			memcpy(e->tuple.daddr, e->tuple.saddr, 16);
			e->tuple.sport = (uint16_t)(8000 + sock);
			e->tuple.dport = (uint16_t)(40000 + sock);
			if (e->hdr.flags & WS_F_DGRAM)
				e->tuple.dport = (uint16_t)(53 + (misc & 1));   /* two peers of one socket */
			memcpy(rec + sizeof(*e), data + off, plen);
			size_t total = sizeof(*e) + plen;
			e->hdr.size = (uint32_t)total;
			/* sometimes lie about sizes: the assembler must reject, not read past */
			size_t give = (op & 0x80) && misc < 40 ? total - (misc % (total ? total : 1)) : total;
			ws_asm_record(a, rec, give);
		} else if (op < 215) {
			/* readiness batches, wakeups, forks, exits, runtime context: the
			 * parentage state they drive must stay consistent in any order */
			struct ws_loop_event *l = (void *)rec;
			struct ws_task_event *t = (void *)rec;
			struct ws_rt_event *r = (void *)rec;

			if (op < 205) {
				l->hdr.type = WS_EV_LOOP;
				l->hdr.size = sizeof(*l);
				l->hdr.ts_ns = now;
				l->pid = 10 + (misc & 1);
				l->tid = 20 + (misc & 3);
				l->enter_ns = now - (misc & 0x1f) * 100;
				l->nready = misc & 0x10 ? WS_LOOP_FOREIGN : WS_LOOP_BATCHES;
				l->batch.count = (uint16_t)(misc & 3);
				l->batch.flags = (uint8_t)((misc >> 5) & 3);
				l->batch.blk_anchor_ns = now - (misc & 0x1f) * 100;
				l->batch.blk_timeout_ms = (int32_t)(misc & 7) - 2;
				ws_asm_record(a, rec, sizeof(*l));
			} else if (op < 212) {
				t->hdr.type = WS_EV_TASK;
				t->hdr.size = sizeof(*t);
				t->hdr.ts_ns = now;
				t->kind = (uint8_t)(op - 204);
				t->pid = 10 + (misc & 1);
				t->tid = 20 + (misc & 3);
				t->other_pid = misc & 0x40 ? 12 + (misc & 1) : t->pid;
				t->other_tid = 20 + ((misc >> 2) & 3);
				ws_asm_record(a, rec, sizeof(*t));
			} else {
				r->hdr.type = WS_EV_RT;
				r->hdr.size = sizeof(*r);
				r->hdr.ts_ns = now;
				r->kind = (uint8_t)(op - 211);
				r->pid = 10 + (misc & 1);
				r->ctx = misc & 7;
				r->other = misc >> 3;
				r->fd = misc & 3;
				ws_asm_record(a, rec, sizeof(*r));
			}
		} else {
			struct ws_sock_event *e = (void *)rec;

			e->hdr.type = op == 255 ? 77 : WS_EV_SOCK;
			e->hdr.size = sizeof(*e);
			e->sock_id = 0x1000 + sock;
			e->kind = 1 + misc % 3;
			e->role = misc % 3;
			e->state_new = (uint8_t)(misc % 13);
			e->pid = 10;
			e->tid = 20 + (misc & 3);
			e->syscall = misc & 0x40 ? WS_SYS_CONNECT : WS_SYS_ACCEPT4;
			ws_asm_record(a, rec, sizeof(*e));
		}
		off += plen;
		if (misc & 0x80)
			ws_asm_tick(a, now);
	}
	if (a) {
		ws_asm_flush(a, now + 1000000);
		ws_asm_free(a, now + 1000000);
	}
	ws_resource_unref(res);
	return 0;
}
