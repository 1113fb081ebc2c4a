/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What every kernel-side file includes: kernel types, libbpf helpers, the shared
 * record ABI and the kernel constants vmlinux.h (enums only) does not carry.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#include "headers/wirespan_abi.h"

/* Constants that vmlinux.h (enums only, no macros) does not carry. */
#define WS_AF_INET 2
#define WS_AF_INET6 10
#define WS_S_IFMT 00170000
#define WS_S_IFSOCK 0140000
#define WS_MSG_PEEK 0x2
#define WS_MSG_TRUNC 0x20
#define WS_EINPROGRESS 115
#define WS_IPPROTO_UDP 17
#define WS_TCP_CLOSE 7
#define WS_RCV_SHUTDOWN 1
