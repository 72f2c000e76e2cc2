// MLP: linear layers with an activation (ReLU or GELU) between them, none after the last.
// dims = {in, hidden..., out}; W[l] is [dims[l+1], dims[l]], b[l] is [dims[l+1]].
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "sessrec/nn/activation.h"
#include "sessrec/nn/linear.h"

namespace sessrec::nn {

template <typename T>
struct MLPCache {
  std::vector<AlignedVector<T>> pre;   // linear outputs of every layer
  std::vector<AlignedVector<T>> post;  // activations of every hidden layer
};

template <typename T>
void mlp_forward(T* out, MLPCache<T>& cache, const T* in, const std::vector<const T*>& W,
                 const std::vector<const T*>& b, const std::vector<int64_t>& dims, int64_t N,
                 bool gelu) {
  const size_t layers = dims.size() - 1;
  cache.pre.resize(layers);
  cache.post.resize(layers);
  const T* x = in;
  for (size_t l = 0; l < layers; ++l) {
    cache.pre[l].resize(N * dims[l + 1]);
    linear_forward(cache.pre[l].data(), x, W[l], b[l], N, dims[l], dims[l + 1]);
    if (l + 1 == layers) break;
    cache.post[l].resize(N * dims[l + 1]);
    if (gelu) gelu_forward(cache.post[l].data(), cache.pre[l].data(), N * dims[l + 1]);
    else relu_forward(cache.post[l].data(), cache.pre[l].data(), N * dims[l + 1]);
    x = cache.post[l].data();
  }
  std::copy(cache.pre[layers - 1].begin(), cache.pre[layers - 1].end(), out);
}

// Accumulates din (may be null), dW[l], db[l].
template <typename T>
void mlp_backward(T* din, const std::vector<T*>& dW, const std::vector<T*>& db, const T* dout,
                  const MLPCache<T>& cache, const T* in, const std::vector<const T*>& W,
                  const std::vector<int64_t>& dims, int64_t N, bool gelu) {
  const size_t layers = dims.size() - 1;
  AlignedVector<T> grad(dout, dout + N * dims[layers]), below;
  for (size_t l = layers; l-- > 0;) {
    const T* x = l == 0 ? in : cache.post[l - 1].data();
    T* dx = nullptr;
    if (l > 0) {
      below.assign(N * dims[l], T(0));
      dx = below.data();
    } else {
      dx = din;
    }
    linear_backward(dx, dW[l], db[l], grad.data(), x, W[l], N, dims[l], dims[l + 1]);
    if (l == 0) break;
    grad.assign(N * dims[l], T(0));
    if (gelu) gelu_backward(grad.data(), below.data(), cache.pre[l - 1].data(), N * dims[l]);
    else relu_backward(grad.data(), below.data(), cache.pre[l - 1].data(), N * dims[l]);
  }
}

}  // namespace sessrec::nn
