// Row-major Eigen maps over raw buffers: every nn kernel takes plain pointers plus shapes and
// uses these to reach Eigen's GEMM. Kernels are templates on the scalar so that the gradient
// checks in tests/cpp can run them in double precision.
#pragma once
#include <Eigen/Core>
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

}  // namespace sessrec::nn
