/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * SQL text helpers shared by the PostgreSQL and MySQL parsers: no literal of a query
 * may reach an attribute unless the user asks for it.
 *
 * ws_sql_sanitize: every literal becomes '?': quoted strings ('..', E'..', N'..',
 * dollar-quoted $tag$..$tag$, and for MySQL ".." strings), numbers (integer, decimal,
 * exponent, hex 0x.., X'..', B'..'), booleans are kept as keywords; comments are
 * dropped; runs of whitespace become one space; identifiers ("quoted" or `quoted`) and
 * placeholders ($1, ?, :name) are kept. Unterminated literals end the text with '?'.
 * The output is NUL terminated and truncated to outlen (returns its length).
 *
 * ws_sql_summary: db.operation.name (the first keyword, uppercased: SELECT, INSERT,
 * UPDATE, DELETE, CALL, BEGIN, ... ; WITH ... SELECT gives SELECT) and db.query.summary
 * ("{operation} {main table}": SELECT users, INSERT orders; just the operation when
 * there is no table). Never contains a literal.
 */
#ifndef WS_PROTO_SQL_H
#define WS_PROTO_SQL_H

#include <stdbool.h>
#include <stddef.h>

enum ws_sql_dialect {
	WS_SQL_POSTGRES = 0,  /* "x" is an identifier, $n placeholders, dollar quotes */
	WS_SQL_MYSQL = 1,     /* "x" is a string (ANSI_QUOTES off), `x` an identifier, # comments */
};

/* What db.query.text carries, process-wide (--query-text): sanitised (the default),
 * nothing, or the text as sent (the user asked for literals, and accepts that secrets
 * in queries reach the traces). Summaries and operation names never carry literals. */
enum ws_query_text {
	WS_QUERY_TEXT_SANITIZED = 0,
	WS_QUERY_TEXT_OFF = 1,
	WS_QUERY_TEXT_RAW = 2,
};
void ws_sql_set_query_text(enum ws_query_text mode);
enum ws_query_text ws_sql_query_text(void);
/* The text a parser keeps for db.query.text under the current mode: sanitised, empty,
 * or raw (control bytes become spaces). NUL terminated, truncated to outlen; returns
 * its length. Parsers call this, never ws_sql_sanitize directly, for that attribute. */
size_t ws_sql_text(const char *q, size_t qlen, enum ws_sql_dialect d, char *out, size_t outlen);

size_t ws_sql_sanitize(const char *q, size_t qlen, enum ws_sql_dialect d, char *out, size_t outlen);
void ws_sql_summary(const char *q, size_t qlen, enum ws_sql_dialect d, char *op, size_t oplen,
		    char *summary, size_t sumlen);

#endif /* WS_PROTO_SQL_H */
