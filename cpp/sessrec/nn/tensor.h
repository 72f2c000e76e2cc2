// Row-major Eigen maps over raw buffers: every nn kernel takes plain pointers plus shapes and
// uses these to reach Eigen's GEMM. Kernels are templates on the scalar so that the gradient
// checks in tests/cpp can run them in double precision.
#pragma once
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <vector>

namespace sessrec::nn {

template <typename T>
using MatrixRM = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using MapMat = Eigen::Map<MatrixRM<T>>;
template <typename T>
using MapConstMat = Eigen::Map<const MatrixRM<T>>;
template <typename T>
using MapVec = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>;
// Buffers are allocated at Eigen's maximum alignment so that vectorised loops peel the same
// elements on every run: results are then bitwise reproducible for a fixed thread count.
template <typename T>
using AlignedVector = std::vector<T, Eigen::aligned_allocator<T>>;
using FloatBuffer = AlignedVector<float>;

template <typename T>
using MapConstVec = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>;

// dst = lhs * rhs (or dst += lhs * rhs with accumulate), dst's rows split into one band per
// OpenMP thread and every band a single-threaded Eigen GEMM. On the shapes of a SASRec step
// (thousands of rows, K = 64..256) this reached 200-228 GFLOP/s on 2 cores where Eigen's own
// parallel GEMM reached 130-190 (bench/RESULTS.md, "GEMM banding"). A band's result does not
// depend on the other bands, so a fixed thread count gives identical results. Small products,
// and calls from inside a parallel region, run as one plain product.
template <typename Dst, typename Lhs, typename Rhs>
void parallel_product(Dst&& dst, const Lhs& lhs, const Rhs& rhs, bool accumulate = false) {
  const int64_t rows = dst.rows();
  const double work = double(rows) * double(dst.cols()) * double(lhs.cols());
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int64_t bands = std::min<int64_t>(threads, rows / 8);
  if (bands <= 1 || work < double(1 << 18)) {
    if (accumulate)
      dst.noalias() += lhs * rhs;
    else
      dst.noalias() = lhs * rhs;
    return;
  }
#pragma omp parallel num_threads(static_cast<int>(bands))
  {
    const int64_t band = omp_get_thread_num(), count = omp_get_num_threads();
    const int64_t r0 = rows * band / count, r1 = rows * (band + 1) / count;
    auto out = dst.middleRows(r0, r1 - r0);
    if (accumulate)
      out.noalias() += lhs.middleRows(r0, r1 - r0) * rhs;
    else
      out.noalias() = lhs.middleRows(r0, r1 - r0) * rhs;
  }
}

}  // namespace sessrec::nn
