// Linear layer: out = in W^T + b, with W stored [out_dim, in_dim] as in torch.nn.Linear.
// float goes through nn::sgemm (oneDNN when built with it); other types (the double-precision
// gradient checks) through Eigen.
#pragma once
#include <type_traits>

#include "sessrec/nn/gemm.h"
#include "sessrec/nn/profile.h"
#include "sessrec/nn/tensor.h"

namespace sessrec::nn {

// out [N, O] = in [N, I] * W[O, I]^T + b[O] (b may be null)
template <typename T>
void linear_forward(T* out, const T* in, const T* W, const T* b, int64_t N, int64_t I, int64_t O) {
  KernelTimer timer(Kernel::Linear);
  MapMat<T> Y(out, N, O);
  if constexpr (std::is_same_v<T, float>)
    sgemm(false, true, N, O, I, 1.0f, in, I, W, I, 0.0f, out, O);
  else
    parallel_product(Y, MapConstMat<T>(in, N, I), MapConstMat<T>(W, O, I).transpose());
  if (b != nullptr) Y.rowwise() += MapConstVec<T>(b, O).transpose();
}

// out [N, O] = in W^T + b + residual [N, O] (the residual connection fused into the product).
// b may be null.
template <typename T>
void linear_forward_residual(T* out, const T* in, const T* W, const T* b, const T* residual,
                             int64_t N, int64_t I, int64_t O) {
  KernelTimer timer(Kernel::Linear);
  MapMat<T> Y(out, N, O);
  Y = MapConstMat<T>(residual, N, O);
  if constexpr (std::is_same_v<T, float>)
    sgemm(false, true, N, O, I, 1.0f, in, I, W, I, 1.0f, out, O);
  else
    parallel_product(Y, MapConstMat<T>(in, N, I), MapConstMat<T>(W, O, I).transpose(), true);
  if (b != nullptr) Y.rowwise() += MapConstVec<T>(b, O).transpose();
}

// Accumulates: din [N, I] += dout W; dW [O, I] += dout^T in; db [O] += column sums of dout.
// Any of din, dW, db may be null. !accumulate_din: din = dout W (din need not be initialised).
template <typename T>
void linear_backward(T* din, T* dW, T* db, const T* dout, const T* in, const T* W, int64_t N,
                     int64_t I, int64_t O, bool accumulate_din = true) {
  KernelTimer timer(Kernel::Linear);
  MapConstMat<T> dY(dout, N, O);
  if constexpr (std::is_same_v<T, float>) {
    if (din != nullptr)
      sgemm(false, false, N, I, O, 1.0f, dout, O, W, I, accumulate_din ? 1.0f : 0.0f, din, I);
    if (dW != nullptr) sgemm(true, false, O, I, N, 1.0f, dout, O, in, I, 1.0f, dW, I);
  } else {
    if (din != nullptr)
      parallel_product(MapMat<T>(din, N, I), dY, MapConstMat<T>(W, O, I), accumulate_din);
    if (dW != nullptr)
      parallel_product(MapMat<T>(dW, O, I), dY.transpose(), MapConstMat<T>(in, N, I), true);
  }
  if (db != nullptr) MapVec<T>(db, O) += dY.colwise().sum().transpose();
}

}  // namespace sessrec::nn
