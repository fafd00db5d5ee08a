/*
 * The names of run=bench's rw= and engine= values: what bench.c accepts and
 * what the BENCH line prints (bench_report.c). A file of their own, so that
 * neither of the two depends on the other for them.
 */
#include "bench.h"

const char *const bench_rw_names[BENCH_NRW] = {
    [BENCH_READ] = "read",	     [BENCH_WRITE] = "write",	[BENCH_RANDREAD] = "randread",
    [BENCH_RANDWRITE] = "randwrite", [BENCH_RANDRW] = "randrw",
};
const char *const bench_engine_names[BENCH_NENGINES] = {
    [BENCH_ASYNC] = "async", [BENCH_SYNC] = "sync"};

const char *bench_rw_name(enum bench_rw rw)
{
	return bench_rw_names[rw];
}

const char *bench_engine_name(enum bench_engine e)
{
	return bench_engine_names[e];
}
