/* SPDX-License-Identifier: GPL-3.0-or-later */
/* check: the invariants, computed as findings (checks.c); rendered by
 * render.c. */
#ifndef FPI_CHECKS_H
#define FPI_CHECKS_H

#include "fpinspect.h"
#include "session.h"

/* Every check over every thread and goroutine of s's snapshot. */
struct fpi_error *check_run(struct fpi_session *s, struct fpi_findings **ret);
void check_findings_free(struct fpi_findings *f);

#endif
