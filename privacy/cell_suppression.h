// Minimum-count suppression of counts that a site releases: the primary rule and the
// secondary (complementary) suppression that keeps a suppressed cell from being recovered by
// subtraction.
//
// A count c out of a released total N may leave the site only when
//   c is 0 or at least k, and N - c is 0 or at least k
// (the second clause: "95 of 100 patients have no cancer" tells that 5 have it). When counts
// partition N (the levels of a variable, its missing values included), suppressing the small
// cells is not enough: with one cell suppressed it equals N minus the others, and with several
// their sum is known. SuppressSmallCells also suppresses, smallest first, further non-zero
// cells until the suppressed cells add up to 0 or at least k and are never exactly one
// non-zero cell.
//
// Zeros are released: "no patient at this site" is the usual convention of Table 1 and of
// disclosure-control practice (e.g. the UK ONS and Eurostat rules); it is noted in
// docs/privacy.md as what it is.
//
// Thread safety: pure functions.
#ifndef SCANCOV_PRIVACY_CELL_SUPPRESSION_H_
#define SCANCOV_PRIVACY_CELL_SUPPRESSION_H_

#include <cstdint>
#include <vector>

namespace scancov::privacy {

// Whether `count` out of `total` may be released under minimum count `k`.
bool CountReleasable(int64_t count, int64_t total, int64_t k);

// For counts that partition their sum: which to suppress (true = suppressed).
std::vector<bool> SuppressSmallCells(const std::vector<int64_t>& counts, int64_t k);

}  // namespace scancov::privacy

#endif  // SCANCOV_PRIVACY_CELL_SUPPRESSION_H_
