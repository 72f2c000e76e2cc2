// Linear layer: out = in W^T + b, with W stored [out_dim, in_dim] as in torch.nn.Linear.
#pragma once
#include "sessrec/nn/tensor.h"
#include "sessrec/nn/profile.h"

namespace sessrec::nn {

// out [N, O] = in [N, I] * W[O, I]^T + b[O] (b may be null)
template <typename T>
void linear_forward(T* out, const T* in, const T* W, const T* b, int64_t N, int64_t I, int64_t O) {
  KernelTimer timer(Kernel::Linear);
  MapMat<T> Y(out, N, O);
  parallel_product(Y, MapConstMat<T>(in, N, I), MapConstMat<T>(W, O, I).transpose());
  if (b != nullptr) Y.rowwise() += MapConstVec<T>(b, O).transpose();
}

// Accumulates: din [N, I] += dout W; dW [O, I] += dout^T in; db [O] += column sums of dout.
// Any of din, dW, db may be null.
template <typename T>
void linear_backward(T* din, T* dW, T* db, const T* dout, const T* in, const T* W, int64_t N,
                     int64_t I, int64_t O) {
  KernelTimer timer(Kernel::Linear);
  MapConstMat<T> dY(dout, N, O);
  if (din != nullptr) parallel_product(MapMat<T>(din, N, I), dY, MapConstMat<T>(W, O, I), true);
  if (dW != nullptr)
    parallel_product(MapMat<T>(dW, O, I), dY.transpose(), MapConstMat<T>(in, N, I), true);
  if (db != nullptr) MapVec<T>(db, O) += dY.colwise().sum().transpose();
}

}  // namespace sessrec::nn
