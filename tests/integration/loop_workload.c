/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * loop_workload: a tiny C stand-in for the smoke test's Python event-loop workload, for
 * kernels where only single binaries can be carried (../shared/tools/kernel-vm):
 * an epoll loop accepting and reading a loopback connection, a hand-off of each request
 * to a worker thread (condition variable), a two-fd poll, a fork + exec of /bin/true,
 * and thread exits. Prints "pid=P main=T worker=W child=C" for the checker.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int pending_fd = -1, quit;
static long worker_tid;
static unsigned short port;

static long gettid_(void)
{
	return syscall(SYS_gettid);
}

static void *worker(void *arg)
{
	(void)arg;
	worker_tid = gettid_();
	pthread_mutex_lock(&mu);
	for (;;) {
		while (pending_fd < 0 && !quit)
			pthread_cond_wait(&cv, &mu);
		if (pending_fd < 0)
			break;
		if (write(pending_fd, "pong\n", 5) != 5)
			perror("worker write");
		pending_fd = -1;
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *client(void *arg)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	char buf[16];
	int s = socket(AF_INET, SOCK_STREAM, 0);

	(void)arg;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)))
		return NULL;
	for (int i = 0; i < 3; i++) {
		if (write(s, "ping\n", 5) != 5 || read(s, buf, sizeof(buf)) <= 0)
			break;
		usleep(20000);
	}
	close(s);
	return NULL;
}

int main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	struct epoll_event ev, out[4];
	pthread_t wt, ct;
	int lst, ep, sp[2], done = 0, idle = 0;
	pid_t child;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lst = socket(AF_INET, SOCK_STREAM, 0);
	if (lst < 0 || bind(lst, (struct sockaddr *)&a, sizeof(a)) || listen(lst, 8) ||
	    getsockname(lst, (struct sockaddr *)&a, &alen)) {
		perror("listen");
		return 1;
	}
	port = ntohs(a.sin_port);
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.fd = lst;
	epoll_ctl(ep, EPOLL_CTL_ADD, lst, &ev);
	pthread_create(&wt, NULL, worker, NULL);
	pthread_create(&ct, NULL, client, NULL);
	while (idle < 3) {
		int n = epoll_wait(ep, out, 4, 50);

		if (n == 0 && done)
			idle++;
		for (int i = 0; i < n; i++) {
			int fd = out[i].data.fd;
			char buf[64];
			ssize_t r;

			if (fd == lst) {
				int c = accept(lst, NULL, NULL);

				ev.data.fd = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				continue;
			}
			r = read(fd, buf, sizeof(buf));
			if (r <= 0) {
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
				done = 1;
				continue;
			}
			pthread_mutex_lock(&mu);   /* the hand-off */
			pending_fd = fd;
			pthread_cond_signal(&cv);
			pthread_mutex_unlock(&mu);
		}
	}
	pthread_join(ct, NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0) {
		struct pollfd p[2] = { { sp[0], POLLIN, 0 }, { sp[1], POLLIN, 0 } };

		poll(p, 2, 10);
	}
	child = fork();
	if (child == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	waitpid(child, NULL, 0);
	pthread_mutex_lock(&mu);
	quit = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(wt, NULL);
	printf("pid=%d main=%ld worker=%ld child=%d\n", getpid(), gettid_(), worker_tid, child);
	return 0;
}
