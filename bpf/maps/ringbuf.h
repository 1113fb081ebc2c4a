/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one ring buffer every record goes through (sized by the loader).
 */
#pragma once

#include "lib/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* the loader sets the real size */
} rb SEC(".maps");
