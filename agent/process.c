/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Process resources from /proc: pure parsers, one-process fill, bounded pid cache. */
#include "process.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- pure parsers ---------------------------------------------------------------- */

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return c - 'A' + 10;
}

int ws_proc_stat_parse(const char *buf, size_t len, struct ws_proc_stat *st)
{
	const char *open, *close, *p, *end = buf + len;
	size_t comm_len;
	uint64_t v = 0;
	int field;

	memset(st, 0, sizeof(*st));
	open = memchr(buf, '(', len);
	/* comm may contain spaces and ')': the real end is the last ')' in the line */
	close = memrchr(buf, ')', len);
	if (!open || !close || close < open)
		return -EINVAL;
	comm_len = (size_t)(close - open - 1);
	if (comm_len > sizeof(st->comm) - 1)
		comm_len = sizeof(st->comm) - 1;
	memcpy(st->comm, open + 1, comm_len);
	st->comm[comm_len] = '\0';

	/* ") S ppid ...": field 3 starts after ") "; starttime is field 22 */
	p = close + 1;
	for (field = 3; field < 22; field++) {
		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			return -EINVAL;
		while (p < end && *p != ' ')
			p++;
	}
	while (p < end && *p == ' ')
		p++;
	if (p >= end || *p < '0' || *p > '9')
		return -EINVAL;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		uint64_t d = (uint64_t)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (p < end && *p != ' ' && *p != '\n')
		return -EINVAL;
	st->start_time = v;
	return 0;
}

int ws_environ_find(const char *buf, size_t len, const char *name, const char **val, size_t *val_len)
{
	size_t nlen = strlen(name);
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));

		if (!nul)
			break;  /* cut entry: its value may be incomplete */
		if ((size_t)(nul - p) > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
			*val = p + nlen + 1;
			*val_len = (size_t)(nul - (p + nlen + 1));
			return 0;
		}
		p = nul + 1;
	}
	return -ENOENT;
}

void ws_otel_attrs_init(struct ws_kv_iter *it, const char *s, size_t len)
{
	it->p = s;
	it->end = s ? s + len : s;
	it->skipped = 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static void trim(const char **b, const char **e)
{
	while (*b < *e && is_space(**b))
		(*b)++;
	while (*e > *b && is_space((*e)[-1]))
		(*e)--;
}

/* One entry [b, e). 1 produced, 0 malformed. */
static int parse_entry(const char *b, const char *e, char *key, size_t key_cap, char *val, size_t val_cap)
{
	const char *eq = memchr(b, '=', (size_t)(e - b));
	const char *kb = b, *ke, *vb, *ve;
	size_t n = 0;

	if (!eq)
		return 0;
	ke = eq;
	vb = eq + 1;
	ve = e;
	trim(&kb, &ke);
	trim(&vb, &ve);
	if (kb == ke || (size_t)(ke - kb) >= key_cap)
		return 0;
	for (const char *k = kb; k < ke; k++)
		if ((unsigned char)*k <= 0x20 || (unsigned char)*k >= 0x7f)
			return 0;
	memcpy(key, kb, (size_t)(ke - kb));
	key[ke - kb] = '\0';
	for (const char *v = vb; v < ve; v++) {
		char c = *v;

		if (c == '%') {
			if (ve - v < 3 || !is_hex(v[1]) || !is_hex(v[2]))
				return 0;
			c = (char)(hex_val(v[1]) << 4 | hex_val(v[2]));
			v += 2;
		}
		if (c == '\0' || n + 1 >= val_cap)
			return 0;
		val[n++] = c;
	}
	val[n] = '\0';
	return 1;
}

int ws_otel_attrs_next(struct ws_kv_iter *it, char *key, size_t key_cap, char *val, size_t val_cap)
{
	while (it->p && it->p < it->end) {
		const char *b = it->p, *e = memchr(b, ',', (size_t)(it->end - b));
		const char *tb, *te;

		if (!e)
			e = it->end;
		it->p = e < it->end ? e + 1 : it->end;
		tb = b;
		te = e;
		trim(&tb, &te);
		if (tb == te)
			continue;   /* empty entry ("a=1,,b=2", trailing comma): not an error */
		if (parse_entry(tb, te, key, key_cap, val, val_cap))
			return 1;
		it->skipped++;
	}
	return 0;
}

/* A 64-hex container id at the end of a path component, alone or after '-' (runtime
 * prefixes: docker-, cri-containerd-, crio-, libpod-), with an optional ".scope". */
static bool component_container_id(const char *c, size_t n, char out[65])
{
	if (n > 6 && memcmp(c + n - 6, ".scope", 6) == 0)
		n -= 6;
	if (n < 64 || (n > 64 && c[n - 65] != '-'))
		return false;
	/* cri-o's monitor process lives in crio-conmon-ID: not the container itself */
	if (n >= 64 + 7 && memcmp(c + n - 64 - 7, "conmon-", 7) == 0)
		return false;
	for (size_t i = n - 64; i < n; i++)
		if (!is_hex(c[i]))
			return false;
	for (size_t i = 0; i < 64; i++)
		out[i] = (char)tolower((unsigned char)c[n - 64 + i]);
	out[64] = '\0';
	return true;
}

/* "pod" followed by a uid with '-' or '_' separators (cgroupfs and systemd drivers). */
static bool component_pod_uid(const char *c, size_t n, char out[37])
{
	static const int groups[] = { 8, 4, 4, 4, 12 };

	for (size_t at = 0; at + 3 + 36 <= n; at++) {
		const char *u = c + at + 3;
		size_t k = 0;
		bool ok = true;

		if (memcmp(c + at, "pod", 3) != 0)
			continue;
		for (int g = 0; g < 5 && ok; g++) {
			for (int i = 0; i < groups[g]; i++, k++)
				if (!is_hex(u[k]))
					ok = false;
			if (ok && g < 4) {
				if (u[k] != '-' && u[k] != '_')
					ok = false;
				k++;
			}
		}
		if (!ok || (at + 3 + 36 < n && is_hex(u[36])))
			continue;
		for (size_t i = 0; i < 36; i++)
			out[i] = u[i] == '_' ? '-' : (char)tolower((unsigned char)u[i]);
		out[36] = '\0';
		return true;
	}
	return false;
}

int ws_cgroup_parse(const char *buf, size_t len, struct ws_cgroup_ids *ids)
{
	const char *line = buf, *end = buf + len;
	int found = 0;

	memset(ids, 0, sizeof(*ids));
	while (line < end && found != (WS_CG_CONTAINER | WS_CG_POD)) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		const char *path, *c1, *c2;
		bool kube;
		char cid[65] = "", pod[37] = "";

		if (!eol)
			eol = end;
		/* "hierarchy-id:controllers:path" */
		c1 = memchr(line, ':', (size_t)(eol - line));
		c2 = c1 ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
		path = c2 ? c2 + 1 : NULL;
		kube = path && memmem(path, (size_t)(eol - path), "kubepods", 8);
		for (const char *p = path; p && p < eol;) {
			const char *slash = memchr(p, '/', (size_t)(eol - p));
			const char *ce = slash ? slash : eol;

			/* the deepest match wins: keep overwriting */
			component_container_id(p, (size_t)(ce - p), cid);
			if (kube)
				component_pod_uid(p, (size_t)(ce - p), pod);
			p = ce + 1;
		}
		if (cid[0] && !(found & WS_CG_CONTAINER)) {
			memcpy(ids->container_id, cid, sizeof(cid));
			found |= WS_CG_CONTAINER;
		}
		if (pod[0] && !(found & WS_CG_POD)) {
			memcpy(ids->pod_uid, pod, sizeof(pod));
			found |= WS_CG_POD;
		}
		line = eol + 1;
	}
	return found;
}

size_t ws_cmdline_format(const char *buf, size_t len, char *out, size_t out_cap)
{
	size_t n;

	if (!out_cap)
		return 0;
	while (len > 0 && (buf[len - 1] == '\0' || buf[len - 1] == ' '))
		len--;
	n = len < out_cap - 1 ? len : out_cap - 1;
	/* do not end inside a UTF-8 sequence: back off to its lead byte */
	if (n < len)
		while (n > 0 && ((unsigned char)buf[n] & 0xC0) == 0x80)
			n--;
	for (size_t i = 0; i < n; i++)
		out[i] = buf[i] ? buf[i] : ' ';
	out[n] = '\0';
	return n;
}

/* ---- one process ----------------------------------------------------------------- */

static bool command_line_on;

void ws_process_set_command_line(bool on)
{
	command_line_on = on;
}

/* Read proc_root/PID/name into buf (at most cap bytes). Bytes read, or -errno. */
static ssize_t read_proc(const char *proc_root, uint32_t pid, const char *name, char *buf, size_t cap)
{
	char path[PATH_MAX];
	size_t len = 0;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%u/%s", proc_root, pid, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0) {
			int err = errno;

			if (err == EINTR)
				continue;
			close(fd);
			return -err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	return (ssize_t)len;
}

static int read_stat(const char *proc_root, uint32_t pid, struct ws_proc_stat *st)
{
	char buf[1024];
	ssize_t n = read_proc(proc_root, pid, "stat", buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	return ws_proc_stat_parse(buf, (size_t)n, st);
}

/* Attribute keys must outlive the resource: keys that are not static strings are
 * copied into the resource's own arena (resources are never copied, only ref'd). */
static const char *res_intern(struct ws_resource *r, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	for (uint16_t i = 0; i < r->n_attrs; i++)
		if (strcmp(r->attrs[i].key, s) == 0)
			return r->attrs[i].key;
	if (r->arena_used + n > WS_RES_ARENA)
		return NULL;
	p = r->arena + r->arena_used;
	memcpy(p, s, n);
	r->arena_used = (uint16_t)(r->arena_used + n);
	return p;
}

static bool res_has(const struct ws_resource *r, const char *key)
{
	return ws_resource_find_attr(r, key) != NULL;
}

static void set_str_if_absent(struct ws_resource *r, const char *key, const char *val, unsigned *dropped)
{
	if (!val || !*val || res_has(r, key))
		return;
	if (ws_resource_set_str(r, key, val) < 0)
		(*dropped)++;
}

/* Copy user key/value pairs into r. Keys already present win (process level over node
 * level); skip_key is never taken. Stops early to keep room for detected facts. */
static void add_user_attrs(struct ws_resource *r, const char *s, size_t len, unsigned keep_attrs,
			   size_t keep_bytes, unsigned *malformed, unsigned *dropped)
{
	struct ws_kv_iter it;
	char key[WS_OTEL_KEY_MAX], val[WS_OTEL_VAL_MAX];

	ws_otel_attrs_init(&it, s, len);
	while (ws_otel_attrs_next(&it, key, sizeof(key), val, sizeof(val))) {
		const char *k;

		/* service.name is decided separately; process.pid is our identity key */
		if (strcmp(key, "service.name") == 0 || strcmp(key, "process.pid") == 0 || res_has(r, key))
			continue;
		if (r->n_attrs + keep_attrs >= WS_RES_MAX_ATTRS ||
		    r->arena_used + strlen(key) + strlen(val) + 2 + keep_bytes > WS_RES_ARENA) {
			(*dropped)++;
			continue;
		}
		k = res_intern(r, key);
		if (!k || ws_resource_set_str(r, k, val) < 0)
			(*dropped)++;
	}
	*malformed += it.skipped;
}

static void reset_resource(struct ws_resource *r, uint32_t pid)
{
	r->pid = pid;
	r->start_time = 0;
	r->n_attrs = 0;
	r->arena_used = 0;
}

static void fill_minimal(struct ws_resource *r, uint32_t pid, const char *host_name, unsigned *dropped)
{
	reset_resource(r, pid);
	set_str_if_absent(r, "service.name", "unknown_service", dropped);
	if (ws_resource_set_int(r, "process.pid", pid) < 0)
		(*dropped)++;
	set_str_if_absent(r, "host.name", host_name, dropped);
}

/* Room kept for the detected facts (pid, exe, command line, host, container, pod)
 * while adding the process's own attributes, so a long OTEL_RESOURCE_ATTRIBUTES
 * cannot crowd out the identity of the process. */
#define FACTS_ATTRS 6
#define FACTS_BYTES (WS_PROC_CMDLINE_MAX + 1 + 64 + 65 + 37 + 256)

static int fill_once(struct ws_resource *r, uint32_t pid, const char *host_name, const char *proc_root,
		     struct ws_proc_fill_info *info, char *env, struct ws_proc_stat *st)
{
	char exe_path[PATH_MAX], link[PATH_MAX], cmd_raw[4096], cmdline[WS_PROC_CMDLINE_MAX + 1], cg[8192];
	const char *exe = NULL, *svc = NULL, *ra = NULL;
	size_t svc_len = 0, ra_len = 0;
	char svc_buf[WS_OTEL_VAL_MAX];
	struct ws_cgroup_ids ids;
	ssize_t n;
	int err;

	reset_resource(r, pid);
	err = read_stat(proc_root, pid, st);
	if (err) {
		info->gone = true;
		info->stat_errno = -err;
		return err;
	}
	r->start_time = st->start_time;

	n = read_proc(proc_root, pid, "environ", env, WS_PROC_ENV_READ_MAX);
	if (n < 0) {
		info->environ_errno = (int)-n;
		n = 0;
	}
	if (ws_environ_find(env, (size_t)n, "OTEL_SERVICE_NAME", &svc, &svc_len) == 0 && svc_len > 0 &&
	    svc_len < sizeof(svc_buf)) {
		memcpy(svc_buf, svc, svc_len);
		svc_buf[svc_len] = '\0';
	} else {
		svc_buf[0] = '\0';
	}
	if (ws_environ_find(env, (size_t)n, "OTEL_RESOURCE_ATTRIBUTES", &ra, &ra_len) != 0)
		ra = NULL;
	if (!svc_buf[0] && ra) {
		struct ws_kv_iter it;
		char key[WS_OTEL_KEY_MAX];
		bool found = false;

		ws_otel_attrs_init(&it, ra, ra_len);
		while (!found && ws_otel_attrs_next(&it, key, sizeof(key), svc_buf, sizeof(svc_buf)))
			found = strcmp(key, "service.name") == 0 && svc_buf[0];
		if (!found)
			svc_buf[0] = '\0';
	}

	/* executable: basename of the exe link ("/usr/sbin/nginx (deleted)" after an upgrade)
	 * (OTel's process.executable.name) */
	if (snprintf(exe_path, sizeof(exe_path), "%s/%u/exe", proc_root, pid) < (int)sizeof(exe_path)) {
		n = readlink(exe_path, link, sizeof(link) - 1);
		if (n > 0) {
			char *slash;

			link[n] = '\0';
			if (n > 10 && strcmp(link + n - 10, " (deleted)") == 0)
				link[n - 10] = '\0';
			slash = strrchr(link, '/');
			exe = slash ? slash + 1 : link;
			if (!*exe)
				exe = NULL;
		}
	}
	if (!exe && st->comm[0])
		exe = st->comm;
	/* The name the process was started as (comm, at most 15 bytes) names the service
	 * when it is not the start of the executable's name: a multi-call binary
	 * (redis-server is a link to redis-check-rdb, busybox applets). */
	const char *name = exe;
	if (exe && st->comm[0] && strncmp(exe, st->comm, strlen(st->comm)) != 0)
		name = st->comm;

	/* service.name first: the attribute every backend groups by */
	set_str_if_absent(r, "service.name", svc_buf[0] ? svc_buf : name ? name : "unknown_service",
			  &info->attrs_dropped);
	if (ra)
		add_user_attrs(r, ra, ra_len, FACTS_ATTRS, FACTS_BYTES, &info->attrs_malformed,
			       &info->attrs_dropped);
	if (ws_resource_set_int(r, "process.pid", pid) < 0)
		info->attrs_dropped++;
	set_str_if_absent(r, "process.executable.name", exe, &info->attrs_dropped);
	n = read_proc(proc_root, pid, "cmdline", cmd_raw, sizeof(cmd_raw));
	if (n > 0 && command_line_on) {
		if (ws_cmdline_format(cmd_raw, (size_t)n, cmdline, sizeof(cmdline)) > 0)
			set_str_if_absent(r, "process.command_line", cmdline, &info->attrs_dropped);
	} else if (n > 0) {
		/* argv[0] only: the arguments may carry secrets */
		size_t a0 = strnlen(cmd_raw, (size_t)n);

		if (a0 > 0 && ws_cmdline_format(cmd_raw, a0, cmdline, sizeof(cmdline)) > 0)
			set_str_if_absent(r, "process.command", cmdline, &info->attrs_dropped);
	}
	set_str_if_absent(r, "host.name", host_name, &info->attrs_dropped);
	n = read_proc(proc_root, pid, "cgroup", cg, sizeof(cg));
	if (n > 0) {
		int found = ws_cgroup_parse(cg, (size_t)n, &ids);

		if (found & WS_CG_CONTAINER)
			set_str_if_absent(r, "container.id", ids.container_id, &info->attrs_dropped);
		if (found & WS_CG_POD)
			set_str_if_absent(r, "k8s.pod.uid", ids.pod_uid, &info->attrs_dropped);
	}
	return 0;
}

int ws_process_resource_fill_ex(struct ws_resource *r, uint32_t pid, const char *host_name,
				const char *proc_root, struct ws_proc_fill_info *info)
{
	struct ws_proc_fill_info local;
	struct ws_proc_stat st, again;
	char *env;
	int err = 0;

	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	if (!proc_root)
		proc_root = "/proc";
	env = malloc(WS_PROC_ENV_READ_MAX);
	if (!env)
		return -ENOMEM;
	/* The pid may be reused while we read: same start time before and after, or retry. */
	for (int attempt = 0; attempt < 3; attempt++) {
		memset(info, 0, sizeof(*info));
		err = fill_once(r, pid, host_name, proc_root, info, env, &st);
		if (err || read_stat(proc_root, pid, &again) != 0 || again.start_time == st.start_time)
			break;
	}
	free(env);
	if (err)
		fill_minimal(r, pid, host_name, &info->attrs_dropped);
	return err;
}

int ws_process_resource_fill(struct ws_resource *r, uint32_t pid, const char *host_name, const char *proc_root)
{
	return ws_process_resource_fill_ex(r, pid, host_name, proc_root, NULL);
}

/* ---- cache ----------------------------------------------------------------------- */

struct pc_entry {
	uint32_t pid;
	int32_t next;               /* hash chain, or free list when res == NULL */
	uint64_t start_time;
	uint64_t checked_ns;
	struct ws_resource *res;    /* the cache's reference; NULL: free slot */
	bool referenced;            /* clock bit */
};

struct ws_proc_cache {
	size_t max;
	size_t n;
	struct pc_entry *e;
	int32_t *buckets;
	uint32_t nbuckets;          /* power of two */
	int32_t free_head;
	size_t hand;
	char *host_name;
	char *proc_root;
	char *node_attrs;
	uint64_t revalidate_ns;
	bool warned_environ;
	struct ws_proc_cache_stats st;
};

static uint64_t coarse_ns(void)
{
	struct timespec ts;

	/* the vDSO coarse clock costs a few ns: fine on every lookup */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t pid_bucket(const struct ws_proc_cache *c, uint32_t pid)
{
	return (uint32_t)((pid * 0x9E3779B1u) >> 8) & (c->nbuckets - 1);
}

struct ws_proc_cache *ws_proc_cache_new(size_t max, const char *host_name, const char *proc_root)
{
	struct ws_proc_cache *c;

	if (max == 0 || max > (1u << 22)) {
		fprintf(stderr, "wirespan: process cache: size %zu out of range (1..%u)\n", max, 1u << 22);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto nomem;
	c->max = max;
	c->nbuckets = 16;
	while (c->nbuckets < 2 * max)
		c->nbuckets <<= 1;
	c->e = calloc(max, sizeof(*c->e));
	c->buckets = malloc(c->nbuckets * sizeof(*c->buckets));
	c->host_name = strdup(host_name ? host_name : "");
	c->proc_root = strdup(proc_root ? proc_root : "/proc");
	if (!c->e || !c->buckets || !c->host_name || !c->proc_root)
		goto nomem;
	for (uint32_t i = 0; i < c->nbuckets; i++)
		c->buckets[i] = -1;
	for (size_t i = 0; i < max; i++)
		c->e[i].next = i + 1 < max ? (int32_t)(i + 1) : -1;
	c->free_head = 0;
	c->revalidate_ns = 1000000000ull;
	return c;
nomem:
	fprintf(stderr, "wirespan: process cache: out of memory\n");
	ws_proc_cache_free(c);
	return NULL;
}

static int32_t lookup(const struct ws_proc_cache *c, uint32_t pid)
{
	int32_t i = c->buckets[pid_bucket(c, pid)];

	while (i >= 0 && c->e[i].pid != pid)
		i = c->e[i].next;
	return i;
}

static void remove_entry(struct ws_proc_cache *c, int32_t idx)
{
	struct pc_entry *e = &c->e[idx];
	int32_t *pp = &c->buckets[pid_bucket(c, e->pid)];

	while (*pp != idx)
		pp = &c->e[*pp].next;
	*pp = e->next;
	ws_resource_unref(e->res);
	memset(e, 0, sizeof(*e));
	e->next = c->free_head;
	c->free_head = idx;
	c->n--;
}

/* Clock eviction: skip (and clear) recently used entries, evict the first idle one. */
static void evict_one(struct ws_proc_cache *c)
{
	for (size_t steps = 0; steps < 2 * c->max + 1; steps++) {
		struct pc_entry *e = &c->e[c->hand];
		size_t i = c->hand;

		c->hand = (c->hand + 1) % c->max;
		if (!e->res)
			continue;
		if (e->referenced) {
			e->referenced = false;
			continue;
		}
		remove_entry(c, (int32_t)i);
		c->st.evictions++;
		return;
	}
}

static void add_node_attrs(struct ws_proc_cache *c, struct ws_resource *r)
{
	unsigned malformed = 0, dropped = 0;

	if (!c->node_attrs)
		return;
	add_user_attrs(r, c->node_attrs, strlen(c->node_attrs), 0, 0, &malformed, &dropped);
	c->st.attrs_dropped += dropped;
}

static struct ws_resource *build(struct ws_proc_cache *c, uint32_t pid, const char *comm)
{
	struct ws_resource *r = ws_resource_new(pid);
	struct ws_proc_fill_info info;
	int err;

	if (!r)
		return NULL;
	err = ws_process_resource_fill_ex(r, pid, c->host_name, c->proc_root, &info);
	if (err == -ENOMEM) {
		ws_resource_unref(r);
		return NULL;
	}
	if (info.gone) {
		c->st.gone++;
		/* Exited before we looked (curl, a fork-per-connection child): the kernel's
		 * comm for it is all that is left to name it by. */
		if (comm && *comm) {
			ws_resource_set_str(r, "service.name", comm);
			ws_resource_set_str(r, "process.executable.name", comm);
		}
	}
	if (info.environ_errno && info.environ_errno != ENOENT && info.environ_errno != ESRCH) {
		c->st.environ_unreadable++;
		if (!c->warned_environ) {
			c->warned_environ = true;
			fprintf(stderr,
				"wirespan: cannot read %s/%u/environ: %s; service.name falls back to the "
				"executable name for such processes (OTEL_SERVICE_NAME needs root to be read). "
				"Counted in proc_cache_environ_unreadable; not repeated.\n",
				c->proc_root, pid, strerror(info.environ_errno));
		}
	}
	c->st.attrs_malformed += info.attrs_malformed;
	c->st.attrs_dropped += info.attrs_dropped;
	add_node_attrs(c, r);
	return r;
}

struct ws_resource *ws_proc_cache_get(struct ws_proc_cache *c, uint32_t pid)
{
	return ws_proc_cache_get_hint(c, pid, NULL);
}

struct ws_resource *ws_proc_cache_get_hint(struct ws_proc_cache *c, uint32_t pid, const char *comm)
{
	uint64_t now = coarse_ns();
	int32_t idx = lookup(c, pid);
	struct ws_resource *r;
	struct pc_entry *e;

	if (idx >= 0) {
		e = &c->e[idx];
		if (now - e->checked_ns >= c->revalidate_ns) {
			struct ws_proc_stat st;

			e->checked_ns = now;
			/* gone since: keep the resource, late spans still belong to it */
			if (read_stat(c->proc_root, pid, &st) == 0 && st.start_time != e->start_time) {
				c->st.pid_reused++;
				remove_entry(c, idx);
				idx = -1;
			}
		}
		if (idx >= 0) {
			e->referenced = true;
			c->st.hits++;
			return e->res;
		}
	}
	c->st.misses++;
	r = build(c, pid, comm);
	if (!r)
		return NULL;
	if (c->n >= c->max)
		evict_one(c);
	idx = c->free_head;
	e = &c->e[idx];
	c->free_head = e->next;
	e->pid = pid;
	e->start_time = r->start_time;
	e->checked_ns = now;
	e->res = r;
	/* a second chance only for entries used again: one-shot pids go first */
	e->referenced = false;
	e->next = c->buckets[pid_bucket(c, pid)];
	c->buckets[pid_bucket(c, pid)] = idx;
	c->n++;
	return r;
}

void ws_proc_cache_forget(struct ws_proc_cache *c, uint32_t pid)
{
	int32_t idx = lookup(c, pid);

	if (idx >= 0)
		remove_entry(c, idx);
}

static void drop_all(struct ws_proc_cache *c)
{
	for (size_t i = 0; i < c->max; i++)
		if (c->e[i].res)
			remove_entry(c, (int32_t)i);
}

void ws_proc_cache_free(struct ws_proc_cache *c)
{
	if (!c)
		return;
	if (c->e && c->buckets)
		drop_all(c);
	free(c->e);
	free(c->buckets);
	free(c->host_name);
	free(c->proc_root);
	free(c->node_attrs);
	free(c);
}

int ws_proc_cache_set_node_attrs(struct ws_proc_cache *c, const char *otel_resource_attributes)
{
	char *copy = NULL;

	if (otel_resource_attributes && *otel_resource_attributes) {
		copy = strdup(otel_resource_attributes);
		if (!copy)
			return -ENOMEM;
	}
	free(c->node_attrs);
	c->node_attrs = copy;
	/* Resources already handed out may be read by other threads (exporters): never
	 * modify them; drop the cache so new ones carry the node attributes. */
	drop_all(c);
	return 0;
}

void ws_proc_cache_set_revalidate_ns(struct ws_proc_cache *c, uint64_t ns)
{
	c->revalidate_ns = ns;
}

void ws_proc_cache_get_stats(const struct ws_proc_cache *c, struct ws_proc_cache_stats *st)
{
	*st = c->st;
	st->entries = c->n;
}

void ws_proc_cache_report(const struct ws_proc_cache *c, FILE *out)
{
	struct ws_proc_cache_stats st;

	ws_proc_cache_get_stats(c, &st);
	fprintf(out, "proc_cache_hits %llu\n", (unsigned long long)st.hits);
	fprintf(out, "proc_cache_misses %llu\n", (unsigned long long)st.misses);
	fprintf(out, "proc_cache_entries %llu\n", (unsigned long long)st.entries);
	fprintf(out, "proc_cache_evictions %llu\n", (unsigned long long)st.evictions);
	fprintf(out, "proc_cache_pid_reused %llu\n", (unsigned long long)st.pid_reused);
	fprintf(out, "proc_cache_gone %llu\n", (unsigned long long)st.gone);
	fprintf(out, "proc_cache_environ_unreadable %llu\n", (unsigned long long)st.environ_unreadable);
	fprintf(out, "proc_cache_attrs_malformed %llu\n", (unsigned long long)st.attrs_malformed);
	fprintf(out, "proc_cache_attrs_dropped %llu\n", (unsigned long long)st.attrs_dropped);
}
