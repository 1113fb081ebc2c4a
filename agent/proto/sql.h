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

size_t ws_sql_sanitize(const char *q, size_t qlen, enum ws_sql_dialect d, char *out, size_t outlen);
void ws_sql_summary(const char *q, size_t qlen, enum ws_sql_dialect d, char *op, size_t oplen,
		    char *summary, size_t sumlen);

#endif /* WS_PROTO_SQL_H */
