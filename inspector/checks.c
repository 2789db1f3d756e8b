#include "session.h"

struct fpi_error *cmd_check(struct fpi_cmd_ctx *c, int *status)
{
	return fpi_error_create(FPI_ERR_USAGE, "check: not implemented yet");
}
