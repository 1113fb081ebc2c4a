/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * SQL text helpers (see sql.h for the contract).
 *
 * One small lexer serves both the sanitiser and the summary: it cuts the text into
 * tokens (spaces and comments, words, quoted identifiers, string and number literals,
 * placeholders, punctuation) in one pass, never looking back, so the sanitiser is a
 * single pass that copies words and punctuation and writes '?' for every literal.
 * A literal's bytes are never copied anywhere: that is the whole safety argument, and
 * why anything the lexer cannot close (a string cut by the capture, an unterminated
 * quoted identifier) ends the text with '?'.
 */
#include "sql.h"

#include <stdint.h>
#include <string.h>

enum tk {
	TK_END = 0,
	TK_SPACE,       /* whitespace and comments */
	TK_WORD,        /* keyword or identifier (letters, digits, _, $, any byte >= 0x80) */
	TK_QIDENT,      /* "quoted" (PostgreSQL) or `quoted` (MySQL) identifier */
	TK_STRING,      /* any quoted literal, with its prefix (E'', X'', _utf8'') */
	TK_NUMBER,      /* numeric literal, with a folded sign */
	TK_PARAM,       /* $1 (PostgreSQL) */
	TK_PUNCT,       /* one byte of anything else */
	TK_UNTERM,      /* a literal or quoted identifier that runs to the end of the text */
};

struct tok {
	enum tk kind;
	size_t start, end;
};

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Control bytes count as whitespace: they never belong in an attribute. */
static bool is_space(uint8_t c)
{
	return c <= 0x20 || c == 0x7f;
}

static bool is_word_start(uint8_t c)
{
	return is_alpha(c) || c == '_' || c >= 0x80;
}

static bool is_word_char(uint8_t c)
{
	return is_word_start(c) || is_digit(c) || c == '$';
}

static uint8_t upper(uint8_t c)
{
	return (c >= 'a' && c <= 'z') ? (uint8_t)(c - 'a' + 'A') : c;
}

/* End of a quoted run opened just before i; quote doubled is an escaped quote, and
 * with bs a backslash escapes the next byte. Sets *unterm when the text ends first. */
static size_t scan_quoted(const uint8_t *q, size_t len, size_t i, uint8_t quote, bool bs, bool *unterm)
{
	while (i < len) {
		uint8_t c = q[i];

		if (bs && c == '\\') {
			if (i + 1 >= len)
				break;
			i += 2;
			continue;
		}
		if (c == quote) {
			if (i + 1 < len && q[i + 1] == quote) {
				i += 2;
				continue;
			}
			return i + 1;
		}
		i++;
	}
	*unterm = true;
	return len;
}

/* A comment starting at i, or i when there is none there. */
static size_t scan_comment(const uint8_t *q, size_t len, size_t i, enum ws_sql_dialect d)
{
	uint8_t c = q[i], n = i + 1 < len ? q[i + 1] : 0;
	bool line = false;

	if (c == '-' && n == '-') {
		/* MySQL wants whitespace (or the end) after "--": 1--1 is 1 - -1 there */
		line = d != WS_SQL_MYSQL || i + 2 >= len || is_space(q[i + 2]);
	} else if (c == '#' && d == WS_SQL_MYSQL) {
		line = true;
	}
	if (line) {
		const uint8_t *nl = memchr(q + i, '\n', len - i);

		return nl ? (size_t)(nl - q) + 1 : len;
	}
	if (c == '/' && n == '*') {
		/* PostgreSQL nests block comments, MySQL does not. MySQL's executable
		 * comments (slash-star-bang) are dropped like any other. */
		unsigned depth = 1;

		i += 2;
		while (i < len) {
			if (q[i] == '*' && i + 1 < len && q[i + 1] == '/') {
				i += 2;
				if (--depth == 0)
					return i;
			} else if (d == WS_SQL_POSTGRES && q[i] == '/' && i + 1 < len && q[i + 1] == '*') {
				depth++;
				i += 2;
			} else {
				i++;
			}
		}
		return len;  /* unterminated: the rest is comment */
	}
	return i;
}

static size_t scan_number(const uint8_t *q, size_t len, size_t i)
{
	bool hex = q[i] == '0' && i + 1 < len && (q[i + 1] == 'x' || q[i + 1] == 'X');

	/* Greedy on purpose: 1e10, 1.5e-3, 0xFF, 0b01, 1_000 and trailing junk (12abc)
	 * are all one literal; swallowing too much can only hide text, never leak it. */
	while (i < len) {
		uint8_t c = q[i];

		if (is_word_char(c) || c == '.') {
			i++;
		} else if ((c == '+' || c == '-') && !hex && (q[i - 1] == 'e' || q[i - 1] == 'E') &&
			   i + 1 < len && is_digit(q[i + 1])) {
			i++;
		} else {
			break;
		}
	}
	return i;
}

static bool starts_number(const uint8_t *q, size_t len, size_t i)
{
	return i < len && (is_digit(q[i]) || (q[i] == '.' && i + 1 < len && is_digit(q[i + 1])));
}

/* Is [s, e) the word w (ASCII, case-insensitive)? */
static bool word_is(const uint8_t *q, size_t s, size_t e, const char *w)
{
	size_t n = strlen(w);

	if (e - s != n)
		return false;
	for (size_t k = 0; k < n; k++)
		if (upper(q[s + k]) != (uint8_t)w[k])
			return false;
	return true;
}

/* Does the word [s, e) prefix a string literal that starts at e? */
static bool string_prefix(const uint8_t *q, size_t s, size_t e, enum ws_sql_dialect d, bool *bs)
{
	if (d == WS_SQL_MYSQL) {
		*bs = true;
		/* N'..', X'..', B'..' and charset introducers (_utf8mb4'..') */
		return q[s] == '_' || (e - s == 1 && (upper(q[s]) == 'N' || upper(q[s]) == 'X' ||
						      upper(q[s]) == 'B'));
	}
	if (e - s != 1)
		return false;
	*bs = upper(q[s]) == 'E';
	return *bs || upper(q[s]) == 'N' || upper(q[s]) == 'X' || upper(q[s]) == 'B';
}

/*
 * The token at i. sign: a '+' or '-' directly before a number belongs to it (the
 * previous token was not a value, so the sign cannot be a binary operator).
 */
static void lex(const uint8_t *q, size_t len, size_t i, enum ws_sql_dialect d, bool sign, struct tok *t)
{
	bool unterm = false, bs = false;
	uint8_t c;
	size_t e;

	t->start = i;
	t->kind = TK_END;
	t->end = i;
	if (i >= len)
		return;
	c = q[i];
	if (is_space(c)) {
		e = i + 1;
		while (e < len && is_space(q[e]))
			e++;
		t->kind = TK_SPACE;
		t->end = e;
		return;
	}
	e = scan_comment(q, len, i, d);
	if (e != i) {
		t->kind = TK_SPACE;
		t->end = e;
		return;
	}
	if (c == '\'' || (c == '"' && d == WS_SQL_MYSQL)) {
		t->end = scan_quoted(q, len, i + 1, c, d == WS_SQL_MYSQL, &unterm);
		t->kind = unterm ? TK_UNTERM : TK_STRING;
		return;
	}
	if (c == '"' || (c == '`' && d == WS_SQL_MYSQL)) {
		t->end = scan_quoted(q, len, i + 1, c, false, &unterm);
		t->kind = unterm ? TK_UNTERM : TK_QIDENT;
		return;
	}
	if (starts_number(q, len, i)) {
		t->kind = TK_NUMBER;
		t->end = scan_number(q, len, i);
		return;
	}
	if ((c == '-' || c == '+') && sign && starts_number(q, len, i + 1)) {
		t->kind = TK_NUMBER;
		t->end = scan_number(q, len, i + 1);
		return;
	}
	if (c == '$' && d == WS_SQL_POSTGRES) {
		e = i + 1;
		if (e < len && is_digit(q[e])) {
			while (e < len && is_digit(q[e]))
				e++;
			t->kind = TK_PARAM;
			t->end = e;
			return;
		}
		/* $tag$ ... $tag$: the tag is a word without '$' that does not start
		 * with a digit (checked above); the body is searched for the same tag only,
		 * so dollar quotes nested inside with other tags are body text. */
		while (e < len && is_word_start(q[e]))
			e++;
		while (e < len && (is_word_start(q[e]) || is_digit(q[e])))
			e++;
		if (e < len && q[e] == '$') {
			size_t taglen = e + 1 - i;
			const uint8_t *close = memmem(q + e + 1, len - (e + 1), q + i, taglen);

			t->kind = close ? TK_STRING : TK_UNTERM;
			t->end = close ? (size_t)(close - q) + taglen : len;
			return;
		}
		t->kind = TK_PUNCT;
		t->end = i + 1;
		return;
	}
	if (is_word_start(c) || c == '$') {
		e = i + 1;
		while (e < len && is_word_char(q[e]))
			e++;
		if (e < len && (q[e] == '\'' || (q[e] == '"' && d == WS_SQL_MYSQL)) &&
		    string_prefix(q, i, e, d, &bs)) {
			t->end = scan_quoted(q, len, e + 1, q[e], bs, &unterm);
			t->kind = unterm ? TK_UNTERM : TK_STRING;
			return;
		}
		/* U&'..' (PostgreSQL Unicode escapes); U&".." stays an identifier */
		if (d == WS_SQL_POSTGRES && e == i + 1 && upper(c) == 'U' && e + 1 < len && q[e] == '&' &&
		    q[e + 1] == '\'') {
			t->end = scan_quoted(q, len, e + 2, '\'', false, &unterm);
			t->kind = unterm ? TK_UNTERM : TK_STRING;
			return;
		}
		t->kind = TK_WORD;
		t->end = e;
		return;
	}
	t->kind = TK_PUNCT;
	t->end = i + 1;
}

/* Words after which a sign starts a number (-5 in "WHERE x = -5" is one literal). */
static const char *const sign_keywords[] = {
	"SELECT", "WHERE", "AND", "OR", "NOT", "IN", "IS", "VALUES", "SET", "THEN", "ELSE",
	"WHEN", "CASE", "RETURN", "LIMIT", "OFFSET", "BETWEEN", "LIKE", "ON", "HAVING",
	"DEFAULT", "BY", "AS", "INTERVAL",
};

static bool is_sign_keyword(const uint8_t *q, const struct tok *t)
{
	for (size_t k = 0; k < sizeof(sign_keywords) / sizeof(sign_keywords[0]); k++)
		if (word_is(q, t->start, t->end, sign_keywords[k]))
			return true;
	return false;
}

/* Length of s[0..n) without a trailing incomplete UTF-8 sequence. */
static size_t utf8_trim(const char *s, size_t n)
{
	size_t k = n, cont = 0;

	while (k > 0 && cont < 4 && ((uint8_t)s[k - 1] & 0xc0) == 0x80) {
		k--;
		cont++;
	}
	if (k == 0 || (uint8_t)s[k - 1] < 0xc0)
		return n;  /* ASCII, or stray continuation bytes: nothing to repair */
	{
		uint8_t lead = (uint8_t)s[k - 1];
		size_t need = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : 1;

		return cont >= need ? n : k - 1;
	}
}

struct outbuf {
	char *p;
	size_t cap;     /* bytes usable before the NUL */
	size_t n;
	bool full;
};

static void put(struct outbuf *o, const uint8_t *s, size_t n)
{
	for (size_t k = 0; k < n && !o->full; k++) {
		if (o->n >= o->cap) {
			o->full = true;
			break;
		}
		/* control bytes inside kept tokens (quoted identifiers) */
		o->p[o->n++] = (char)(is_space(s[k]) && s[k] != ' ' ? ' ' : s[k]);
	}
}

static void put_c(struct outbuf *o, char c)
{
	uint8_t b = (uint8_t)c;

	put(o, &b, 1);
}

static size_t finish(struct outbuf *o)
{
	if (o->full)
		o->n = utf8_trim(o->p, o->n);
	o->p[o->n] = '\0';
	return o->n;
}

size_t ws_sql_sanitize(const char *qs, size_t qlen, enum ws_sql_dialect d, char *out, size_t outlen)
{
	const uint8_t *q = (const uint8_t *)qs;
	struct outbuf o = { .p = out, .cap = outlen ? outlen - 1 : 0 };
	bool space = false, value = false;
	struct tok t;
	size_t i = 0;

	if (!out || outlen == 0)
		return 0;
	if (!q)
		qlen = 0;
	while (i < qlen && !o.full) {
		lex(q, qlen, i, d, !value, &t);
		i = t.end;
		if (t.kind == TK_SPACE) {
			space = o.n > 0;
			continue;
		}
		/* MySQL reads "--" before a space (or the end) as a comment: two '-' that
		 * were apart in the input (-/ * * /-) must not meet in the output */
		if (d == WS_SQL_MYSQL && o.n > 0 && out[o.n - 1] == '-' && q[t.start] == '-')
			space = true;
		if (space)
			put_c(&o, ' ');
		space = false;
		switch (t.kind) {
		case TK_STRING:
		case TK_NUMBER:
			put_c(&o, '?');
			value = true;
			break;
		case TK_UNTERM:
			put_c(&o, '?');
			i = qlen;
			break;
		case TK_WORD:
			put(&o, q + t.start, t.end - t.start);
			value = !is_sign_keyword(q, &t);
			break;
		case TK_QIDENT:
		case TK_PARAM:
			put(&o, q + t.start, t.end - t.start);
			value = true;
			break;
		default:
			put(&o, q + t.start, t.end - t.start);
			value = q[t.start] == ')' || q[t.start] == ']' || q[t.start] == '?';
			break;
		}
	}
	return finish(&o);
}

/* ---- summary ---- */

#define NEST_MAX 32

struct cursor {
	const uint8_t *q;
	size_t len, i;
	enum ws_sql_dialect d;
	struct tok t;       /* the current significant token (TK_END at the end) */
};

static void next(struct cursor *c)
{
	do {
		lex(c->q, c->len, c->i, c->d, false, &c->t);
		c->i = c->t.end;
	} while (c->t.kind == TK_SPACE);
	if (c->t.kind == TK_UNTERM)
		c->t.kind = TK_END;
}

static bool at_word(const struct cursor *c, const char *w)
{
	return c->t.kind == TK_WORD && word_is(c->q, c->t.start, c->t.end, w);
}

static bool at_punct(const struct cursor *c, uint8_t p)
{
	return c->t.kind == TK_PUNCT && c->q[c->t.start] == p;
}

static bool is_name(const struct cursor *c)
{
	return c->t.kind == TK_WORD || c->t.kind == TK_QIDENT;
}

/* Copy a possibly qualified name (a.b."c") at the cursor into out; the cursor ends on
 * the token after it. Returns false (out empty) when there is no name. */
static bool take_name(struct cursor *c, char *out, size_t outlen)
{
	struct outbuf o = { .p = out, .cap = outlen ? outlen - 1 : 0 };

	if (!is_name(c) || outlen == 0)
		return false;
	for (;;) {
		put(&o, c->q + c->t.start, c->t.end - c->t.start);
		next(c);
		if (!at_punct(c, '.'))
			break;
		next(c);
		if (!is_name(c))
			break;
		put_c(&o, '.');
	}
	finish(&o);
	return true;
}

/* Skip words from a list (modifiers such as ONLY, IGNORE, LOW_PRIORITY). */
static void skip_words(struct cursor *c, const char *const *w, size_t n)
{
	for (bool again = true; again;) {
		again = false;
		for (size_t k = 0; k < n; k++) {
			if (at_word(c, w[k])) {
				next(c);
				again = true;
				break;
			}
		}
	}
}

static const char *const dml_mods[] = {
	"ONLY", "IGNORE", "LOW_PRIORITY", "HIGH_PRIORITY", "DELAYED", "QUICK", "TABLE",
};
#define N_MODS (sizeof(dml_mods) / sizeof(dml_mods[0]))

/*
 * The first table a SELECT reads: the first FROM of the outermost statement, or when
 * that is a sub-select (FROM (SELECT ...)) or there is none at the top, the first
 * FROM of a nested sub-select. A FROM inside a function's parentheses
 * (EXTRACT(YEAR FROM ts), SUBSTRING(x FROM 2)) is not a table.
 */
static bool select_table(struct cursor *c, char *out, size_t outlen)
{
	bool sub[NEST_MAX];          /* is the group at each depth a sub-select? */
	unsigned depth = 0;
	bool fallback = false;

	sub[0] = true;
	while (c->t.kind != TK_END) {
		if (at_punct(c, '(')) {
			next(c);
			depth++;
			if (depth < NEST_MAX)
				sub[depth] = at_word(c, "SELECT") || at_word(c, "WITH");
			continue;
		}
		if (at_punct(c, ')')) {
			if (depth == 0)
				break;
			depth--;
		} else if (at_punct(c, ';') && depth == 0) {
			break;
		} else if (at_word(c, "FROM") && depth < NEST_MAX && sub[depth]) {
			unsigned at = depth;

			next(c);
			skip_words(c, dml_mods, 1);  /* ONLY */
			if (is_name(c) && (at == 0 || !fallback)) {
				char tmp[256];
				size_t tl = outlen < sizeof(tmp) ? outlen : sizeof(tmp);

				take_name(c, tmp, tl);
				if (!at_punct(c, '(')) {  /* FROM unnest(...): a function */
					memcpy(out, tmp, strlen(tmp) + 1);
					if (at == 0)
						return true;
					fallback = true;
				}
			}
			continue;
		}
		next(c);
	}
	return fallback;
}

void ws_sql_summary(const char *qs, size_t qlen, enum ws_sql_dialect d, char *op, size_t oplen,
		    char *summary, size_t sumlen)
{
	struct cursor c = { .q = (const uint8_t *)qs, .len = qs ? qlen : 0, .d = d };
	struct tok opt;
	char table[256] = "";
	bool have = false;

	if (op && oplen)
		op[0] = '\0';
	if (summary && sumlen)
		summary[0] = '\0';
	next(&c);
	while (at_punct(&c, '('))   /* (SELECT ...) UNION ... */
		next(&c);
	if (at_word(&c, "WITH")) {
		unsigned depth = 0;

		/* skip the CTEs: the statement is the first DML keyword outside them */
		for (next(&c); c.t.kind != TK_END; next(&c)) {
			if (at_punct(&c, '('))
				depth++;
			else if (at_punct(&c, ')') && depth > 0)
				depth--;
			else if (depth == 0 && (at_word(&c, "SELECT") || at_word(&c, "INSERT") ||
						at_word(&c, "UPDATE") || at_word(&c, "DELETE") ||
						at_word(&c, "MERGE")))
				break;
		}
	}
	if (c.t.kind != TK_WORD)
		return;
	opt = c.t;
	for (size_t k = opt.start; k < opt.end; k++)
		if (!is_alpha(c.q[k]) && c.q[k] != '_')
			return;  /* not a keyword */
	next(&c);

	if (word_is(c.q, opt.start, opt.end, "SELECT")) {
		have = select_table(&c, table, sizeof(table));
	} else if (word_is(c.q, opt.start, opt.end, "INSERT") || word_is(c.q, opt.start, opt.end, "REPLACE") ||
		   word_is(c.q, opt.start, opt.end, "MERGE")) {
		skip_words(&c, dml_mods, N_MODS);
		if (at_word(&c, "INTO"))
			next(&c);
		have = take_name(&c, table, sizeof(table));
	} else if (word_is(c.q, opt.start, opt.end, "UPDATE") || word_is(c.q, opt.start, opt.end, "TRUNCATE")) {
		skip_words(&c, dml_mods, N_MODS);
		have = take_name(&c, table, sizeof(table));
	} else if (word_is(c.q, opt.start, opt.end, "DELETE")) {
		skip_words(&c, dml_mods, N_MODS);
		if (at_word(&c, "FROM"))
			next(&c);
		skip_words(&c, dml_mods, N_MODS);
		have = take_name(&c, table, sizeof(table));
	} else if (word_is(c.q, opt.start, opt.end, "CALL") || word_is(c.q, opt.start, opt.end, "COPY")) {
		have = take_name(&c, table, sizeof(table));
	}

	if (op && oplen) {
		struct outbuf o = { .p = op, .cap = oplen - 1 };

		for (size_t k = opt.start; k < opt.end; k++)
			put_c(&o, (char)upper(c.q[k]));
		finish(&o);
	}
	if (summary && sumlen) {
		struct outbuf o = { .p = summary, .cap = sumlen - 1 };

		for (size_t k = opt.start; k < opt.end; k++)
			put_c(&o, (char)upper(c.q[k]));
		if (have && table[0]) {
			put_c(&o, ' ');
			put(&o, (const uint8_t *)table, strlen(table));
		}
		finish(&o);
	}
}
