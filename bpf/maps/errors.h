/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Helper failures per {error, file, line} (headers/ws_err_abi.h), a count per CPU.
 * Preallocated: an entry is made in whatever context a failure happens.
 */
#pragma once

#include "lib/common.h"
#include "headers/ws_err_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, WS_ERR_ENTRIES);
	__type(key, struct ws_err_key);
	__type(value, __u64);
} ws_errors SEC(".maps");
