// Numbers for people: what a report's table shows (Markdown, HTML), as opposed to what its
// CSV/JSON keep for scripts (full precision). A count reads as a count ("287", not "287.0000"),
// a rate or an estimate with a fixed number of significant digits and no trailing zeros
// ("0.8177", "1", "0.0123", "1.23e-05"), and a value that is not a number says so ("n/a").
//
// Thread safety: pure functions.
#ifndef SCANCOV_CORE_NUMBER_FORMAT_H_
#define SCANCOV_CORE_NUMBER_FORMAT_H_

#include <string>

namespace scancov {

// Whole numbers below 1e15 in full ("287", "-3", "1234567"); otherwise `significant` digits
// (1..17; clamped), trailing zeros dropped, in exponent form below 1e-4 or from 1e15 ("0.8177",
// "12.35", "1.234e-05"); "n/a" for NaN, "inf" / "-inf" for infinities.
std::string HumanNumber(double v, int significant = 4);

// For files scripts read (CSV): the shortest decimal that reads back as exactly `v`
// ("0.81774321", "0.1", "287", "1e-300"); "nan", "inf", "-inf" otherwise.
std::string ExactNumber(double v);

}  // namespace scancov

#endif  // SCANCOV_CORE_NUMBER_FORMAT_H_
