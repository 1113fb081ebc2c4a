/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Process scope for the uprobe shells: see proc_scope.h. */
#include "proc_scope.h"

#include <stdio.h>
#include <string.h>

bool ws_proc_in_scope(const struct ws_proc_scope *s, uint32_t pid)
{
	char path[64], comm[WS_COMM_LEN + 2] = "";
	FILE *f;

	if (pid == s->agent_pid)
		return false;
	if (!s->n_pids && !s->n_comms)
		return true;   /* no scoping, or ports only: any process may qualify */
	for (int i = 0; i < s->n_pids; i++)
		if (s->pids[i] == pid)
			return true;
	if (s->n_comms) {
		snprintf(path, sizeof(path), "/proc/%u/comm", pid);
		f = fopen(path, "re");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = 0;
			fclose(f);
		}
		for (int i = 0; i < s->n_comms; i++)
			if (comm[0] && strncmp(comm, s->comms[i], WS_COMM_LEN) == 0)
				return true;
	}
	return s->port_scoped;
}
