/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdint.h>
long c_work(long n);
long c_leaf(long n);
int c_start_threads(int n);
void c_traceback(void *arg);
