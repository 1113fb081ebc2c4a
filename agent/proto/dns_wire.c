/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* DNS message wire format: see dns_wire.h. */
#include "dns_wire.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Bounded text output: an escape is written whole or not at all. */
struct text {
	char *out;
	size_t cap;
	size_t n;
	bool cut;
};

static void put(struct text *t, const char *s, size_t n)
{
	if (!t->out || t->cut)
		return;
	if (t->n + n + 1 > t->cap) {
		t->cut = true;
		return;
	}
	memcpy(t->out + t->n, s, n);
	t->n += n;
	t->out[t->n] = '\0';
}

static void put_label_byte(struct text *t, uint8_t c)
{
	char e[5];

	switch (c) {
	case '\t': put(t, "\\t", 2); return;
	case '\r': put(t, "\\r", 2); return;
	case '\n': put(t, "\\n", 2); return;
	case '\\': put(t, "\\\\", 2); return;
	case '"': put(t, "\\\"", 2); return;
	case '.': put(t, "\\.", 2); return;
	default:
		break;
	}
	if (c < 32 || c > 126) {
		snprintf(e, sizeof(e), "\\%03u", c);
		put(t, e, 4);
		return;
	}
	e[0] = (char)c;
	put(t, e, 1);
}

int dns_name_read(const uint8_t *p, uint32_t avail, uint32_t len, uint32_t off, uint32_t *next,
		  char *out, size_t outcap, bool *cut)
{
	struct text t = { .out = outcap ? out : NULL, .cap = outcap };
	uint32_t pos = off, run = off, wire = 0;
	unsigned hops = 0;
	bool have_next = false;

	if (t.out)
		t.out[0] = '\0';
	if (avail > len)
		avail = len;
	for (;;) {
		uint8_t b;

		if (pos >= len)
			return DNS_WIRE_BAD_LENGTH;
		if (pos >= avail)
			return DNS_WIRE_UNCAPTURED;
		b = p[pos];
		if ((b & 0xc0) == 0xc0) {
			uint32_t target;

			if (pos + 1 >= len)
				return DNS_WIRE_BAD_LENGTH;
			if (pos + 1 >= avail)
				return DNS_WIRE_UNCAPTURED;
			target = (uint32_t)(b & 0x3f) << 8 | p[pos + 1];
			/* Strictly before the run of labels this pointer ends, and never into
			 * the header: each hop goes back, so no sequence of them can loop. */
			if (target >= run || target < DNS_HDR_LEN || ++hops > DNS_PTR_HOPS_MAX)
				return DNS_WIRE_BAD_NAME;
			if (!have_next) {
				*next = pos + 2;
				have_next = true;
			}
			pos = run = target;
			continue;
		}
		if (b & 0xc0)
			return DNS_WIRE_BAD_NAME;   /* 0x40 extended / 0x80 reserved label types */
		if (b == 0) {
			if (!have_next)
				*next = pos + 1;
			break;
		}
		/* b <= 63 here; the root byte still has to fit in 255 */
		wire += 1u + b;
		if (wire + 1 > DNS_NAME_WIRE_MAX)
			return DNS_WIRE_BAD_NAME;
		if (pos + 1 + b > len)
			return DNS_WIRE_BAD_LENGTH;
		if (pos + 1 + b > avail)
			return DNS_WIRE_UNCAPTURED;
		if (t.n)
			put(&t, ".", 1);
		for (uint32_t i = 0; i < b; i++)
			put_label_byte(&t, p[pos + 1 + i]);
		pos += 1u + b;
	}
	if (wire == 0)
		put(&t, ".", 1);
	if (cut)
		*cut = t.cut;
	return DNS_WIRE_OK;
}

int dns_parse(const uint8_t *p, uint32_t avail, uint32_t len, struct dns_msg *m)
{
	uint32_t off = DNS_HDR_LEN, total;
	int r;

	memset(m, 0, sizeof(*m));
	if (avail > len)
		avail = len;
	if (len < DNS_HDR_LEN)
		return DNS_WIRE_SHORT;
	if (avail < DNS_HDR_LEN)
		return DNS_WIRE_UNCAPTURED;
	m->id = be16(p);
	m->flags = be16(p + 2);
	m->qdcount = be16(p + 4);
	m->ancount = be16(p + 6);
	m->nscount = be16(p + 8);
	m->arcount = be16(p + 10);
	m->qr = (uint8_t)(m->flags >> 15);
	m->opcode = (uint8_t)((m->flags >> 11) & 0xf);
	m->aa = m->flags & 0x0400;
	m->tc = m->flags & 0x0200;
	m->rd = m->flags & 0x0100;
	m->ra = m->flags & 0x0080;
	m->rcode = m->flags & 0xf;
	m->end = off;

	for (unsigned i = 0; i < m->qdcount; i++) {
		uint32_t next = 0;
		bool first = i == 0;

		r = dns_name_read(p, avail, len, off, &next, first ? m->q.name : NULL,
				  first ? sizeof(m->q.name) : 0, first ? &m->q.name_cut : NULL);
		if (r == DNS_WIRE_OK && next + 4 > len)
			r = DNS_WIRE_BAD_LENGTH;
		if (r == DNS_WIRE_OK && next + 4 > avail)
			r = DNS_WIRE_UNCAPTURED;
		if (r == DNS_WIRE_UNCAPTURED) {
			m->question_cut = first;
			if (first)
				m->q.name[0] = '\0';
			return DNS_WIRE_OK;
		}
		if (r != DNS_WIRE_OK)
			return r;
		if (first) {
			m->q.type = be16(p + next);
			m->q.cls = be16(p + next + 2);
			m->has_question = true;
		}
		off = next + 4;
		m->end = off;
	}

	total = (uint32_t)m->ancount + m->nscount + m->arcount;
	for (uint32_t i = 0; i < total; i++) {
		uint32_t next = 0;
		uint16_t type, rdlen;

		r = dns_name_read(p, avail, len, off, &next, NULL, 0, NULL);
		if (r == DNS_WIRE_OK && next + 10 > len)
			r = DNS_WIRE_BAD_LENGTH;
		if (r == DNS_WIRE_OK && next + 10 > avail)
			r = DNS_WIRE_UNCAPTURED;
		if (r == DNS_WIRE_UNCAPTURED)
			return DNS_WIRE_OK;
		if (r != DNS_WIRE_OK)
			return r;
		type = be16(p + next);
		rdlen = be16(p + next + 8);
		if (next + 10 + rdlen > len)
			return DNS_WIRE_BAD_LENGTH;
		if (i < m->ancount && m->has_question && type == m->q.type)
			m->an_qtype++;
		if (i >= (uint32_t)m->ancount + m->nscount && type == DNS_TYPE_OPT && !m->has_opt) {
			/* RFC 6891 6.1.3: the TTL's top byte is EXTENDED-RCODE, the upper 8
			 * bits of the 12-bit response code */
			m->has_opt = true;
			m->rcode = (uint16_t)((be32(p + next + 4) >> 24) << 4 | (m->flags & 0xf));
		}
		off = next + 10 + rdlen;
		m->end = off;
		if (off > avail)
			return DNS_WIRE_OK;   /* its data was not captured: the walk ends here */
	}
	m->rrs_complete = true;
	return DNS_WIRE_OK;
}

struct code_name {
	uint16_t code;
	const char *name;
};

static const struct code_name types[] = {
	{ 1, "A" }, { 2, "NS" }, { 3, "MD" }, { 4, "MF" }, { 5, "CNAME" }, { 6, "SOA" },
	{ 7, "MB" }, { 8, "MG" }, { 9, "MR" }, { 10, "NULL" }, { 11, "WKS" }, { 12, "PTR" },
	{ 13, "HINFO" }, { 14, "MINFO" }, { 15, "MX" }, { 16, "TXT" }, { 17, "RP" },
	{ 18, "AFSDB" }, { 24, "SIG" }, { 25, "KEY" }, { 28, "AAAA" }, { 29, "LOC" },
	{ 33, "SRV" }, { 35, "NAPTR" }, { 36, "KX" }, { 37, "CERT" }, { 39, "DNAME" },
	{ 41, "OPT" }, { 42, "APL" }, { 43, "DS" }, { 44, "SSHFP" }, { 45, "IPSECKEY" },
	{ 46, "RRSIG" }, { 47, "NSEC" }, { 48, "DNSKEY" }, { 49, "DHCID" }, { 50, "NSEC3" },
	{ 51, "NSEC3PARAM" }, { 52, "TLSA" }, { 53, "SMIMEA" }, { 55, "HIP" }, { 59, "CDS" },
	{ 60, "CDNSKEY" }, { 61, "OPENPGPKEY" }, { 62, "CSYNC" }, { 63, "ZONEMD" },
	{ 64, "SVCB" }, { 65, "HTTPS" }, { 99, "SPF" }, { 108, "EUI48" }, { 109, "EUI64" },
	{ 249, "TKEY" }, { 250, "TSIG" }, { 251, "IXFR" }, { 252, "AXFR" }, { 253, "MAILB" },
	{ 254, "MAILA" }, { 255, "ANY" }, { 256, "URI" }, { 257, "CAA" },
};

static const struct code_name rcodes[] = {
	{ 0, "NOERROR" }, { 1, "FORMERR" }, { 2, "SERVFAIL" }, { 3, "NXDOMAIN" },
	{ 4, "NOTIMP" }, { 5, "REFUSED" }, { 6, "YXDOMAIN" }, { 7, "YXRRSET" },
	{ 8, "NXRRSET" }, { 9, "NOTAUTH" }, { 10, "NOTZONE" }, { 11, "DSOTYPENI" },
	{ 16, "BADVERS" }, { 17, "BADKEY" }, { 18, "BADTIME" }, { 19, "BADMODE" },
	{ 20, "BADNAME" }, { 21, "BADALG" }, { 22, "BADTRUNC" }, { 23, "BADCOOKIE" },
};

static const char *find(const struct code_name *t, size_t n, uint16_t code)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].code == code)
			return t[i].name;
	return NULL;
}

const char *dns_type_name(uint16_t type, char *buf, size_t n)
{
	const char *s = find(types, sizeof(types) / sizeof(types[0]), type);

	if (s)
		return s;
	snprintf(buf, n, "TYPE%u", type);
	return buf;
}

const char *dns_rcode_name(uint16_t rcode, char *buf, size_t n)
{
	const char *s = find(rcodes, sizeof(rcodes) / sizeof(rcodes[0]), rcode);

	if (s)
		return s;
	snprintf(buf, n, "%u", rcode);
	return buf;
}

const char *dns_opcode_name(uint8_t opcode)
{
	static const char *const names[16] = {
		[0] = "QUERY", [1] = "IQUERY", [2] = "STATUS", [4] = "NOTIFY", [5] = "UPDATE", [6] = "DSO",
	};

	return names[opcode & 0xf] ? names[opcode & 0xf] : "OPCODE";
}

bool dns_question_equal(const struct dns_question *a, const struct dns_question *b)
{
	return a->type == b->type && a->cls == b->cls && strcasecmp(a->name, b->name) == 0;
}
