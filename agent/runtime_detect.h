/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which language runtime drives a process's threads, as far as parentage cares: Go
 * (goroutines multiplexed over OS threads: thread evidence is void) or native (one OS
 * thread runs one flow of control at a time).
 */
#ifndef WS_RUNTIME_DETECT_H
#define WS_RUNTIME_DETECT_H

#include <stdint.h>

/* Is this ELF file a Go program? 1 yes, 0 no, -errno when it cannot be read. A Go
 * program carries a `.go.buildinfo` section (Go 1.13+) or a `.note.go.buildid` note;
 * stripped ones keep both. */
int ws_elf_is_go(const char *path);

/* enum ws_runtime of pid, from proc_root/PID/exe (WS_RUNTIME_NATIVE when unreadable:
 * a process gone before it is asked keeps the native rules, which say "don't know"
 * rather than guess when its threads interleave). */
uint8_t ws_runtime_of_pid(const char *proc_root, uint32_t pid);

#endif /* WS_RUNTIME_DETECT_H */
