/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * JSON-lines file sink: one OTLP/JSON ExportTraceServiceRequest per line, the format
 * the Collector's file exporter writes and its otlpjsonfile receiver reads back.
 *
 * Each line goes out in one write() on an O_APPEND descriptor, so a reader tailing the
 * file (or another appender) sees whole lines. Lines are capped in size: a batch that
 * would make a longer line is split in halves until each part fits.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "otlp_json.h"
#include "sink.h"

struct file_sink {
	struct ws_sink sink;
	int fd;
	char *path;
	size_t max_line;
	struct ws_buf buf;
	/* A failed write may have left part of a line: start the next one on a fresh line
	 * so only the broken line is lost, not the one after it too. */
	bool need_newline;
	int last_errno;           /* log a write error once per distinct errno */
	uint64_t lines, spans, bytes, write_errors, spans_dropped, encode_errors, splits;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Returns bytes written before a failure (errno set), or len on success. */
static size_t write_all(int fd, const uint8_t *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return done;
		}
		if (w == 0) {
			errno = EIO;
			return done;
		}
		done += (size_t)w;
	}
	return done;
}

static void write_batch(struct file_sink *fs, const struct ws_span *const *spans, size_t n)
{
	size_t done;
	int err, werr;

	if (!n)
		return;
	ws_buf_reset(&fs->buf);
	if (fs->need_newline)
		ws_buf_putc(&fs->buf, '\n');
	err = ws_otlp_json_encode(spans, n, &fs->buf);
	if (!err)
		err = ws_buf_putc(&fs->buf, '\n');
	if (err == -E2BIG && n > 1) {
		fs->splits++;
		write_batch(fs, spans, n / 2);
		write_batch(fs, spans + n / 2, n - n / 2);
		return;
	}
	if (err) {
		/* One span that alone exceeds the line limit, or no memory. */
		fs->encode_errors++;
		fs->spans_dropped += n;
		return;
	}
	done = write_all(fs->fd, fs->buf.data, fs->buf.len);
	if (done == fs->buf.len) {
		fs->need_newline = false;
		fs->lines++;
		fs->spans += n;
		fs->bytes += done;
		return;
	}
	werr = errno;
	fs->write_errors++;
	fs->spans_dropped += n;
	if (done > 0)
		fs->need_newline = true;
	if (werr != fs->last_errno) {
		fs->last_errno = werr;
		fprintf(stderr, "wirespan: file sink: write to %s failed: %s (spans dropped and counted)\n",
			fs->path, strerror(werr));
	}
}

static void file_emit(struct ws_sink *s, const struct ws_span *const *spans, size_t n)
{
	write_batch(s->priv, spans, n);
}

static void file_tick(struct ws_sink *s, uint64_t now_mono_ns)
{
}

/*
 * fsync can block for a long time (slow or remote disk). It runs on a helper thread on
 * a dup of the descriptor, so flush() can give up at the deadline; the thread then
 * finishes and frees the job on its own.
 */
struct fsync_job {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fd;
	int refs;
	bool done;
	int err;
};

static void job_put(struct fsync_job *j)
{
	bool last;

	pthread_mutex_lock(&j->mu);
	last = --j->refs == 0;
	pthread_mutex_unlock(&j->mu);
	if (last) {
		pthread_cond_destroy(&j->cv);
		pthread_mutex_destroy(&j->mu);
		free(j);
	}
}

static int fsync_err(int fd)
{
	if (fsync(fd) == 0)
		return 0;
	/* pipes and character devices (e.g. /dev/stdout) cannot be synced: nothing to do */
	return errno == EINVAL || errno == EROFS ? 0 : -errno;
}

static void *fsync_thread(void *arg)
{
	struct fsync_job *j = arg;
	int err = fsync_err(j->fd);

	close(j->fd);
	pthread_mutex_lock(&j->mu);
	j->err = err;
	j->done = true;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
	job_put(j);
	return NULL;
}

static int file_flush(struct ws_sink *s, uint64_t deadline_mono_ns)
{
	struct file_sink *fs = s->priv;
	struct fsync_job *j;
	pthread_condattr_t ca;
	pthread_attr_t ta;
	pthread_t th;
	struct timespec ts;
	int err;

	if (mono_ns() >= deadline_mono_ns)
		return -ETIMEDOUT;
	j = calloc(1, sizeof(*j));
	if (!j)
		return fsync_err(fs->fd);
	j->fd = dup(fs->fd);
	if (j->fd < 0) {
		free(j);
		return fsync_err(fs->fd);
	}
	pthread_mutex_init(&j->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cv, &ca);
	pthread_condattr_destroy(&ca);
	j->refs = 2;
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&th, &ta, fsync_thread, j);
	pthread_attr_destroy(&ta);
	if (err) {
		/* no thread: sync inline, unbounded but still correct */
		close(j->fd);
		j->refs = 1;
		job_put(j);
		return fsync_err(fs->fd);
	}
	ts.tv_sec = (time_t)(deadline_mono_ns / 1000000000ull);
	ts.tv_nsec = (long)(deadline_mono_ns % 1000000000ull);
	pthread_mutex_lock(&j->mu);
	while (!j->done) {
		if (pthread_cond_timedwait(&j->cv, &j->mu, &ts) == ETIMEDOUT)
			break;
	}
	err = j->done ? j->err : -ETIMEDOUT;
	pthread_mutex_unlock(&j->mu);
	job_put(j);
	return err;
}

static void file_report(struct ws_sink *s, FILE *out)
{
	struct file_sink *fs = s->priv;

	fprintf(out, "file_lines_written %llu\n", (unsigned long long)fs->lines);
	fprintf(out, "file_spans_written %llu\n", (unsigned long long)fs->spans);
	fprintf(out, "file_bytes_written %llu\n", (unsigned long long)fs->bytes);
	fprintf(out, "file_write_errors %llu\n", (unsigned long long)fs->write_errors);
	fprintf(out, "file_encode_errors %llu\n", (unsigned long long)fs->encode_errors);
	fprintf(out, "file_spans_dropped %llu\n", (unsigned long long)fs->spans_dropped);
	fprintf(out, "file_batch_splits %llu\n", (unsigned long long)fs->splits);
}

static void file_destroy(struct ws_sink *s)
{
	struct file_sink *fs;

	if (!s)
		return;
	fs = s->priv;
	if (fs->fd >= 0)
		close(fs->fd);
	ws_buf_free(&fs->buf);
	free(fs->path);
	free(fs);
}

static const struct ws_sink_ops file_ops = {
	.name = "file",
	.emit = file_emit,
	.tick = file_tick,
	.flush = file_flush,
	.report = file_report,
	.destroy = file_destroy,
};

struct ws_sink *ws_sink_file_new_max_line(const char *path, size_t max_line)
{
	struct file_sink *fs;

	if (!path || !*path) {
		fprintf(stderr, "wirespan: file sink: no output path given\n");
		return NULL;
	}
	if (max_line < 64) {
		fprintf(stderr, "wirespan: file sink: line limit %zu too small\n", max_line);
		return NULL;
	}
	fs = calloc(1, sizeof(*fs));
	if (!fs || !(fs->path = strdup(path))) {
		fprintf(stderr, "wirespan: file sink: %s\n", strerror(ENOMEM));
		free(fs);
		return NULL;
	}
	fs->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fs->fd < 0) {
		fprintf(stderr, "wirespan: file sink: cannot open %s for appending: %s\n", path, strerror(errno));
		free(fs->path);
		free(fs);
		return NULL;
	}
	fs->max_line = max_line;
	ws_buf_init(&fs->buf, max_line);
	fs->sink.ops = &file_ops;
	fs->sink.priv = fs;
	return &fs->sink;
}

struct ws_sink *ws_sink_file_new(const char *path)
{
	return ws_sink_file_new_max_line(path, WS_FILE_MAX_LINE);
}
