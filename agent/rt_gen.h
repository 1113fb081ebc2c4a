/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Tell the kernel programs a process was registered in ws_go_procs or ws_py_procs
 * (bpf/lib/config.h ws_rt_gen): connections that remembered "not a registered
 * process" look again. Call after the map update. Include wirespan.skel.h first.
 */
#ifndef WS_RT_GEN_H
#define WS_RT_GEN_H

static inline void ws_rt_registered(struct wirespan_bpf *skel)
{
	/* after the map update (the syscall orders it); 0 is "never looked" */
	if (__atomic_add_fetch(&skel->data->ws_rt_gen, 1, __ATOMIC_SEQ_CST) == 0)
		__atomic_add_fetch(&skel->data->ws_rt_gen, 1, __ATOMIC_SEQ_CST);
}

#endif
