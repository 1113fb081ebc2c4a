/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "http_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- W3C traceparent ------------------------------------------------------------ */

static int lhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;  /* uppercase hex is invalid in traceparent */
}

/* n bytes from 2n lowercase hex characters; -1 on any other character. */
static int lhex_bytes(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = lhex(s[2 * i]), lo = lhex(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int ws_traceparent_parse(const char *s, uint8_t trace_id[16], uint8_t span_id[8], uint8_t *flags)
{
	uint8_t ver, tid[16], sid[8], fl;
	size_t len;

	if (!s)
		return -EINVAL;
	/* strnlen: a future-version value may be long, but only its first 56 bytes matter. */
	len = strnlen(s, WS_TRACEPARENT_LEN + 1);
	if (len < WS_TRACEPARENT_LEN)
		return -EINVAL;
	if (s[2] != '-' || s[35] != '-' || s[52] != '-')
		return -EINVAL;
	if (lhex_bytes(s, &ver, 1) || lhex_bytes(s + 3, tid, 16) || lhex_bytes(s + 36, sid, 8) ||
	    lhex_bytes(s + 53, &fl, 1))
		return -EINVAL;
	if (ver == 0xff)
		return -EINVAL;
	/* Version 00 is exactly 55 characters; a later version may append fields, each
	 * introduced by '-', which this parser does not know and ignores. */
	if (len > WS_TRACEPARENT_LEN && (ver == 0 || s[WS_TRACEPARENT_LEN] != '-'))
		return -EINVAL;
	if (all_zero(tid, 16) || all_zero(sid, 8))
		return -EINVAL;
	if (trace_id)
		memcpy(trace_id, tid, 16);
	if (span_id)
		memcpy(span_id, sid, 8);
	if (flags)
		*flags = fl;
	return 0;
}

int ws_traceparent_format(char out[56], const uint8_t trace_id[16], const uint8_t span_id[8], uint8_t flags)
{
	static const char hx[] = "0123456789abcdef";
	char *p = out;

	if (!out || !trace_id || !span_id || all_zero(trace_id, 16) || all_zero(span_id, 8))
		return -EINVAL;
	*p++ = '0';
	*p++ = '0';
	*p++ = '-';
	for (int i = 0; i < 16; i++) {
		*p++ = hx[trace_id[i] >> 4];
		*p++ = hx[trace_id[i] & 15];
	}
	*p++ = '-';
	for (int i = 0; i < 8; i++) {
		*p++ = hx[span_id[i] >> 4];
		*p++ = hx[span_id[i] & 15];
	}
	*p++ = '-';
	*p++ = hx[flags >> 4];
	*p++ = hx[flags & 15];
	*p = '\0';
	return 0;
}

/* ---- request-target ------------------------------------------------------------- */

/* Copy n bytes of src into dst (size dstlen) with a NUL; true when it had to cut. */
static bool copy_part(char *dst, size_t dstlen, const char *src, size_t n)
{
	bool cut = false;

	if (!dst || dstlen == 0)
		return false;  /* output not wanted */
	if (n >= dstlen) {
		n = dstlen - 1;
		cut = true;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
	return cut;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of "scheme://" at the start of t, or 0 when t does not start with one. */
static size_t scheme_len(const char *t)
{
	size_t i = 0;

	if (!is_alpha(t[0]))
		return 0;
	while (is_alpha(t[i]) || is_digit(t[i]) || t[i] == '+' || t[i] == '-' || t[i] == '.')
		i++;
	if (t[i] == ':' && t[i + 1] == '/' && t[i + 2] == '/')
		return i + 3;
	return 0;
}

int ws_http_target_split(const char *target, char *path, size_t pathlen, char *query, size_t qlen,
			 char *host, size_t hostlen)
{
	const char *p, *end, *q;
	bool cut = false;

	copy_part(path, pathlen, "", 0);
	copy_part(query, qlen, "", 0);
	copy_part(host, hostlen, "", 0);
	if (!target || !target[0])
		return -EINVAL;

	p = target;
	if (p[0] != '/' && !(p[0] == '*' && p[1] == '\0')) {
		size_t sl = scheme_len(p);

		if (sl == 0) {
			/* authority-form (CONNECT host:port): all of it is the authority. It can
			 * not carry userinfo (RFC 9112 3.2.3), but drop anything up to '@' anyway. */
			const char *at = strrchr(p, '@');

			if (at)
				p = at + 1;
			cut |= copy_part(host, hostlen, p, strlen(p));
			return cut ? -ENOSPC : 0;
		}
		/* absolute-form: authority runs to the first '/', '?' or '#'. */
		const char *auth = p + sl;
		const char *aend = auth + strcspn(auth, "/?#");
		const char *hs = auth;

		/* userinfo ends at the last '@' of the authority; it is skipped, never copied. */
		for (const char *a = auth; a < aend; a++)
			if (*a == '@')
				hs = a + 1;
		cut |= copy_part(host, hostlen, hs, (size_t)(aend - hs));
		p = aend;
		if (*p != '/') {
			/* "http://host" or "http://host?q": the path is "/" (RFC 9110 4.2.3). */
			cut |= copy_part(path, pathlen, "/", 1);
			goto rest;
		}
	}
	end = p + strcspn(p, "?#");
	cut |= copy_part(path, pathlen, p, (size_t)(end - p));
	p = end;
rest:
	if (*p == '?') {
		q = p + 1;
		end = q + strcspn(q, "#");
		cut |= copy_part(query, qlen, q, (size_t)(end - q));
	}
	return cut ? -ENOSPC : 0;
}

/* ---- query redaction ------------------------------------------------------------ */

static const char *const sensitive_keys[] = {
	"token", "access_token", "refresh_token", "id_token", "password", "passwd", "pwd",
	"secret", "client_secret", "api_key", "apikey", "key", "sig", "signature",
	"x-amz-signature", "x-amz-credential", "x-amz-security-token", "x-goog-signature",
	"awsaccesskeyid", "code", "auth", "session", "sessionid", "jwt", "credential",
};

static int hexval(char c)
{
	if (is_digit(c))
		return c - '0';
	c = (char)(c | 0x20);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decode (and '+' -> ' ') key[0..n) into out; false when it does not fit,
 * in which case the key is longer than any sensitive name and cannot match. */
static bool decode_key(const char *key, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = key[i];

		if (c == '%' && i + 2 < n) {
			int hi = hexval(key[i + 1]), lo = hexval(key[i + 2]);

			if (hi >= 0 && lo >= 0) {
				c = (char)(hi << 4 | lo);
				i += 2;
			}
		} else if (c == '+') {
			c = ' ';
		}
		if (o + 1 >= outlen)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

static bool key_sensitive(const char *key, size_t n)
{
	char dec[32];

	if (!decode_key(key, n, dec, sizeof(dec)))
		return false;
	for (size_t i = 0; i < sizeof(sensitive_keys) / sizeof(sensitive_keys[0]); i++)
		if (strcasecmp(dec, sensitive_keys[i]) == 0)
			return true;
	return false;
}

void ws_http_redact_query(const char *query, char *out, size_t outlen)
{
	static const char red[] = "REDACTED";
	size_t o = 0;
	const char *p = query;
	bool first = true;

	if (!out || outlen == 0)
		return;
	out[0] = '\0';
	if (!query)
		return;
	for (;;) {
		size_t plen = strcspn(p, "&");
		const char *eq = memchr(p, '=', plen);
		size_t klen = eq ? (size_t)(eq - p) : plen;
		bool redact = eq && key_sensitive(p, klen);
		size_t need = (first ? 0 : 1) + (redact ? klen + 1 + sizeof(red) - 1 : plen);

		/* Whole pairs only: a pair cut in the middle could show part of a value. */
		if (o + need >= outlen)
			break;
		if (!first)
			out[o++] = '&';
		first = false;
		if (redact) {
			memcpy(out + o, p, klen + 1);
			o += klen + 1;
			memcpy(out + o, red, sizeof(red) - 1);
			o += sizeof(red) - 1;
		} else {
			memcpy(out + o, p, plen);
			o += plen;
		}
		out[o] = '\0';
		p += plen;
		if (*p != '&')
			break;
		p++;  /* empty pairs ("a&&b", trailing '&') are kept as sent */
	}
}

/* ---- route guess ---------------------------------------------------------------- */

static bool is_hex(char c)
{
	return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static bool seg_is_uuid(const char *s, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!is_hex(s[i])) {
			return false;
		}
	}
	return true;
}

/* The rules of docs/http1.md "Route guess", in order. */
static bool seg_is_id(const char *s, size_t n)
{
	size_t digits = 0, letters = 0, hex = 0, b64 = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (is_digit(c))
			digits++;
		else if (is_alpha(c))
			letters++;
		if (is_hex(c))
			hex++;
		if (is_digit(c) || is_alpha(c) || c == '-' || c == '_' || c == '+' || c == '=')
			b64++;
	}
	if (n == 0)
		return false;
	if (digits == n)
		return true;
	if (seg_is_uuid(s, n))
		return true;
	if (n >= 8 && hex == n && digits > 0)
		return true;
	if (n > 20 && b64 == n && digits > 0 && letters > 0)
		return true;
	if (n >= 4 && digits * 2 >= n)
		return true;
	return false;
}

/* Append the cut marker ("/" then "*") to out[0..o), dropping whole segments until it fits. */
static void route_cut(char *out, size_t o, size_t outlen)
{
	while (o > 0 && o + 2 >= outlen) {
		while (o > 0 && out[o - 1] != '/')
			o--;
		if (o > 0)
			o--;  /* the '/' that started the dropped segment */
	}
	if (o + 2 < outlen)
		memcpy(out + o, "/*", 3);
	else
		out[o] = '\0';
}

void ws_http_route_guess(const char *path, char *out, size_t outlen)
{
	size_t o = 0, nseg = 0;
	const char *p = path;

	if (!out || outlen == 0)
		return;
	out[0] = '\0';
	if (!path || !path[0] || path[0] == '?' || path[0] == '#')
		return;
	if (path[0] == '*' && (path[1] == '\0' || path[1] == '?')) {
		if (outlen > 1)
			memcpy(out, "*", 2);
		return;
	}
	for (;;) {
		size_t n;

		while (*p == '/')
			p++;
		if (!*p || *p == '?' || *p == '#')
			break;
		n = strcspn(p, "/?#");
		if (nseg == WS_ROUTE_MAX_SEGMENTS) {
			route_cut(out, o, outlen);
			return;
		}
		const char *seg = p;
		size_t sl = n;

		if (seg_is_id(p, n)) {
			seg = "{id}";
			sl = 4;
		}
		if (o + 1 + sl >= outlen) {
			/* Does not fit: mark the cut rather than emit half a segment. */
			route_cut(out, o, outlen);
			return;
		}
		out[o++] = '/';
		memcpy(out + o, seg, sl);
		o += sl;
		out[o] = '\0';
		nseg++;
		p += n;
	}
	if (o == 0 && outlen > 1)
		memcpy(out, "/", 2);
}

/* ---- semantic conventions ------------------------------------------------------- */

bool ws_http_method_known(const char *m)
{
	static const char *const known[] = {
		"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
	};

	if (!m)
		return false;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(m, known[i]) == 0)
			return true;
	return false;
}

bool ws_http_status_is_error(int status, bool is_client)
{
	/* 0 is "no response"; anything outside 100..599 is not a valid status code. */
	if (status < 100 || status > 599)
		return true;
	if (status >= 500)
		return true;
	return status >= 400 && is_client;
}
