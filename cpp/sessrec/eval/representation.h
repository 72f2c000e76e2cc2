// Alignment and uniformity of representations (Wang & Isola 2020, "Understanding Contrastive
// Representation Learning through Alignment and Uniformity on the Hypersphere"), as UBM
// (Li et al. 2024, §4.6) uses them:
//   l_align   = E_{(x, x+) ~ p_pos} ||f(x) - f(x+)||^alpha          (UBM writes alpha = 2)
//   l_uniform = log E_{x, z ~ p_data} exp(-t ||f(x) - f(z)||^2)     (UBM writes t = 2)
// Rows are L2-normalised here first (both properties are defined on the unit hypersphere), so
// callers pass raw encoder outputs. The expectation over p_data runs over the n(n-1)/2 distinct
// pairs of rows of one set, as Wang & Isola's reference code does (torch.pdist), and the
// reported uniformity is the mean of the two sides' values, (l_uniform(x) + l_uniform(y)) / 2,
// as in their loss.
#pragma once
#include <cstdint>

namespace sessrec {

struct AlignmentUniformity {
  double alignment;     // mean over rows i of ||x_i - y_i||^alpha
  double uniformity_x;  // log mean over pairs i < j of exp(-t ||x_i - x_j||^2)
  double uniformity_y;  // the same over the rows of y
  double uniformity;    // (uniformity_x + uniformity_y) / 2
};

// x, y: row-major [n, d], row i of x and row i of y a positive pair. Needs n >= 2, d >= 1,
// alpha > 0, t > 0, finite values and no all-zero row (it cannot be normalised); throws
// InputError naming the array and row otherwise. The O(n^2 d) pair sums run in parallel over
// rows (OpenMP) and add up in a fixed order: the result does not depend on the thread count.
AlignmentUniformity alignment_uniformity(const double* x, const double* y, int64_t n, int64_t d,
                                         double alpha, double t);

}  // namespace sessrec
