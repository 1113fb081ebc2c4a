/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Pure helpers that turn what the HTTP/1 parser recorded into span fields: W3C
 * traceparent parsing/formatting, request-target splitting (credentials are never
 * copied), query redaction, a route template guess, and semantic-convention checks.
 * No allocation, no I/O; every output is NUL-terminated and truncated to its size.
 */
#ifndef WS_PROTO_HTTP_UTIL_H
#define WS_PROTO_HTTP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS_TRACEPARENT_LEN 55   /* version 00: 2+1+32+1+16+1+2 */

/* Parse a W3C traceparent value. Version 00 must be exactly 55 characters; a higher
 * version may be longer if the character after the flags is '-'. Lowercase hex only;
 * version ff, an all-zero trace id or span id are invalid. Returns 0 or -EINVAL
 * (outputs untouched on error). */
int ws_traceparent_parse(const char *s, uint8_t trace_id[16], uint8_t span_id[8], uint8_t *flags);

/* Format a version-00 traceparent (55 characters + NUL). Returns 0, or -EINVAL for an
 * all-zero trace id or span id (nothing a receiver would accept). */
int ws_traceparent_format(char out[56], const uint8_t trace_id[16], const uint8_t span_id[8], uint8_t flags);

/* Split a request-target into path, query (without '?') and, for absolute-form
 * (scheme://[userinfo@]host[:port]/path?query), host[:port]. userinfo is skipped and
 * never copied. The fragment, if any, is dropped. Origin-form gives an empty host;
 * asterisk-form ("*") gives path "*"; authority-form (CONNECT host:port) gives host
 * only. Outputs may be NULL with length 0 when not wanted; each is truncated to fit.
 * Returns 0, -EINVAL for a NULL/empty target, -ENOSPC when some output was truncated
 * (outputs are still valid, NUL-terminated prefixes). */
int ws_http_target_split(const char *target, char *path, size_t pathlen, char *query, size_t qlen,
			 char *host, size_t hostlen);

/* Copy a query string (no leading '?') replacing the value of every sensitive key
 * (token, password, api_key, sig, X-Amz-Signature, ... matched case-insensitively on
 * the percent-decoded key) by REDACTED. Other pairs are copied as they are. Output is
 * truncated at a pair boundary when it does not fit, so a cut never exposes part of a
 * secret. */
void ws_http_redact_query(const char *query, char *out, size_t outlen);

/* Guess a low-cardinality route template from a path (no query): segments that look
 * like identifiers become {id}; at most WS_ROUTE_MAX_SEGMENTS segments are kept, then
 * "/ *" (without the space) marks the cut. docs/http1.md gives the exact rules. */
#define WS_ROUTE_MAX_SEGMENTS 6
void ws_http_route_guess(const char *path, char *out, size_t outlen);

/* RFC 9110 methods (GET HEAD POST PUT DELETE CONNECT OPTIONS TRACE) and PATCH, exact
 * case. Others are reported as _OTHER per the semantic conventions. */
bool ws_http_method_known(const char *m);

/* Span status per semantic conventions: 5xx always an error; 4xx only for client
 * spans; 0 (no response) is an error. */
bool ws_http_status_is_error(int status, bool is_client);

#endif /* WS_PROTO_HTTP_UTIL_H */
