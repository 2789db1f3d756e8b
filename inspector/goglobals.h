/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The runtime's globals (allgs, allglen, allm, ...) of a binary whose layout
 * did not come with them (a layout file, another build's debug file). */
#ifndef FPI_GOGLOBALS_H
#define FPI_GOGLOBALS_H

#include "error.h"
#include "golayout.h"
#include "target.h"

/* Fill l->allgs, allglen, allm and, where found, sched, maxstacksize_addr,
 * waitreasons: from exe's .symtab, else from the machine code of runtime
 * functions pclntab locates, each candidate validated against t's memory
 * with l's field offsets. `how` gets a short static description of where
 * they came from ("symbol table", "machine code") for the output. */
struct fpi_error *go_globals_find(struct go_layout *l, const char *exe, struct fpi_target *t, const char **how);

#endif
