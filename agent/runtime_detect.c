/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Language runtime of a process: see runtime_detect.h. */
#include "runtime_detect.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "actors.h"

int ws_elf_is_go(const char *path)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	int fd, found = 0;
	Elf *e;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || elf_getshdrstrndx(e, &shstrndx) != 0) {
		if (e)
			elf_end(e);
		close(fd);
		return -ENOEXEC;
	}
	while (!found && (scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (name && (strcmp(name, ".go.buildinfo") == 0 || strcmp(name, ".note.go.buildid") == 0))
			found = 1;
	}
	elf_end(e);
	close(fd);
	return found;
}

uint8_t ws_runtime_of_pid(const char *proc_root, uint32_t pid)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%u/exe", proc_root, pid);
	return ws_elf_is_go(path) == 1 ? WS_RUNTIME_GO : WS_RUNTIME_NATIVE;
}
