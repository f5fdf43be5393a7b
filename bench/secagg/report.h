// The Markdown report of one bench_secagg run: the command, the machine (CPUs, CPU model, load
// average at start and end) and the date, then three tables (site steps, server steps, bytes on
// the wire per site). Every figure is labelled measured or computed; a computed one says from
// which measured figures of the same run.
#ifndef SCANCOV_BENCH_SECAGG_REPORT_H_
#define SCANCOV_BENCH_SECAGG_REPORT_H_

#include <string>

#include "bench/machine.h"
#include "bench/secagg/round.h"

namespace scancov::bench::secagg {

using bench::LoadAverage;
using bench::Machine;
using bench::ReadMachine;

std::string RenderReport(const std::string& command, const RoundOptions& options,
                         const RoundReport& report, const Machine& machine);

}  // namespace scancov::bench::secagg

#endif  // SCANCOV_BENCH_SECAGG_REPORT_H_
