/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * udp_ping PORT: a UDP echo server on 127.0.0.1:PORT (recvfrom + sendto, in a child)
 * and two exchanges with it: unconnected (sendto/recvfrom) and connected (write/read).
 * For vm_udp.sh (kernel-vm carries single binaries, not Python). Prints "ok" or fails.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET }, from;
	socklen_t fl = sizeof(from);
	char buf[512];
	int s, c, ready[2];
	pid_t srv;
	ssize_t n;

	if (argc != 2)
		return 2;
	a.sin_port = htons((unsigned short)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (pipe(ready))
		return 1;
	srv = fork();
	if (srv == 0) {
		s = socket(AF_INET, SOCK_DGRAM, 0);
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)))
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;) {
			fl = sizeof(from);
			n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
			if (n > 0)
				sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
		}
	}
	if (read(ready[0], buf, 1) != 1)
		return 1;
	c = socket(AF_INET, SOCK_DGRAM, 0);
	if (sendto(c, "unconnected-query", 17, 0, (struct sockaddr *)&a, sizeof(a)) != 17 ||
	    recvfrom(c, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) != 17)
		goto fail;
	close(c);
	c = socket(AF_INET, SOCK_DGRAM, 0);
	if (connect(c, (struct sockaddr *)&a, sizeof(a)) || write(c, "connected-query", 15) != 15 ||
	    read(c, buf, sizeof(buf)) != 15)
		goto fail;
	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);
	printf("ok\n");
	return 0;
fail:
	perror("udp_ping");
	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);
	return 1;
}
