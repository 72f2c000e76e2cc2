// Multi-head scaled dot-product self-attention with causal and key-padding masks, over padded
// [B, T] batches or over packed sequences (rows offsets[b] .. offsets[b+1]-1, no padding).
// A query whose every key is masked (e.g. a padding position) gets zero weights and output.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "sessrec/nn/gemm.h"
#include "sessrec/nn/profile.h"
#include "sessrec/nn/tensor.h"

namespace sessrec::nn {

namespace detail {

// One head of one sequence of Tn rows: query/key/value of row t at qkv + t*3C (+0 / +C / +2C)
// + head offset; out row t at out + t*C + head offset; att [Tn, Tn]; key_valid [Tn] or null.
// The scores, the weighted sum and their gradients are small matrix products on strided views
// of qkv (Eigen's kernels, vectorised), not loops over rows.
template <typename T>
using StridedRows = Eigen::Map<const MatrixRM<T>, 0, Eigen::OuterStride<>>;
template <typename T>
using StridedRowsMut = Eigen::Map<MatrixRM<T>, 0, Eigen::OuterStride<>>;

template <typename T>
void attend_forward(T* out, T* att, const T* qkv, const uint8_t* key_valid, int64_t Tn, int64_t C,
                    int64_t hs, bool causal) {
  const T scale = T(1) / std::sqrt(T(hs));
  const T inf = std::numeric_limits<T>::infinity();
  const Eigen::OuterStride<> row_stride(3 * C);
  StridedRows<T> Q(qkv, Tn, hs, row_stride), K(qkv + C, Tn, hs, row_stride),
      V(qkv + 2 * C, Tn, hs, row_stride);
  MapMat<T> P(att, Tn, Tn);
  if constexpr (std::is_same_v<T, float>)
    sgemm_float32(false, true, Tn, Tn, hs, scale, qkv, 3 * C, qkv + C, 3 * C, 0.0f, att, Tn);
  else
    P.noalias() = (Q * K.transpose()) * scale;
  using RowArray = Eigen::Map<Eigen::Array<T, 1, Eigen::Dynamic>>;
  for (int64_t t = 0; t < Tn; ++t) {
    T* row = att + t * Tn;
    const int64_t last = causal ? t : Tn - 1;
    if (key_valid == nullptr) {  // every key up to `last` is real: vectorised softmax
      RowArray r(row, last + 1);
      r = (r - r.maxCoeff()).exp();
      r *= T(1) / r.sum();
      std::fill(row + last + 1, row + Tn, T(0));
      continue;
    }
    for (int64_t t2 = last + 1; t2 < Tn; ++t2) row[t2] = -inf;
    for (int64_t t2 = 0; t2 <= last; ++t2)
      if (!key_valid[t2]) row[t2] = -inf;
    T max_score = -inf;
    for (int64_t t2 = 0; t2 <= last; ++t2) max_score = std::max(max_score, row[t2]);
    if (max_score == -inf) {  // every key masked: zero weights
      std::fill(row, row + Tn, T(0));
      continue;
    }
    T sum = 0;
    for (int64_t t2 = 0; t2 < Tn; ++t2) {
      row[t2] = row[t2] == -inf ? T(0) : std::exp(row[t2] - max_score);
      sum += row[t2];
    }
    const T inv = T(1) / sum;
    for (int64_t t2 = 0; t2 < Tn; ++t2) row[t2] *= inv;
  }
  if constexpr (std::is_same_v<T, float>)
    sgemm_float32(false, false, Tn, hs, Tn, 1.0f, att, Tn, qkv + 2 * C, 3 * C, 0.0f, out, C);
  else
    StridedRowsMut<T>(out, Tn, hs, Eigen::OuterStride<>(C)).noalias() = P * V;
}

// Accumulates the head's dqkv (same layout as qkv) from dout (layout of out), or overwrites the
// head's columns of dqkv when !accumulate; datt [Tn, Tn] scratch.
template <typename T>
void attend_backward(T* dqkv, const T* dout, const T* qkv, const T* att, int64_t Tn, int64_t C,
                     int64_t hs, T* datt, bool accumulate = true) {
  const T scale = T(1) / std::sqrt(T(hs));
  const Eigen::OuterStride<> row_stride(3 * C);
  StridedRows<T> Q(qkv, Tn, hs, row_stride), K(qkv + C, Tn, hs, row_stride),
      V(qkv + 2 * C, Tn, hs, row_stride);
  StridedRows<T> dO(dout, Tn, hs, Eigen::OuterStride<>(C));
  StridedRowsMut<T> dQ(dqkv, Tn, hs, row_stride), dK(dqkv + C, Tn, hs, row_stride),
      dV(dqkv + 2 * C, Tn, hs, row_stride);
  MapConstMat<T> P(att, Tn, Tn);
  MapMat<T> dS(datt, Tn, Tn);
  if constexpr (std::is_same_v<T, float>) {
    const float beta = accumulate ? 1.0f : 0.0f;
    sgemm_float32(true, false, Tn, hs, Tn, 1.0f, att, Tn, dout, C, beta, dqkv + 2 * C, 3 * C);
    sgemm_float32(false, true, Tn, Tn, hs, 1.0f, dout, C, qkv + 2 * C, 3 * C, 0.0f, datt, Tn);
  } else {
    if (accumulate)
      dV.noalias() += P.transpose() * dO;
    else
      dV.noalias() = P.transpose() * dO;
    dS.noalias() = dO * V.transpose();  // d loss / d P
  }
  // Softmax backward: dS = P * (dP - rowsum(P * dP)), times the score scale.
  for (int64_t t = 0; t < Tn; ++t) {
    auto p = P.row(t).array();
    auto d = dS.row(t).array();
    const T weighted = (p * d).sum();
    d = p * (d - weighted) * scale;
  }
  if constexpr (std::is_same_v<T, float>) {
    const float beta = accumulate ? 1.0f : 0.0f;
    sgemm_float32(false, false, Tn, hs, Tn, 1.0f, datt, Tn, qkv + C, 3 * C, beta, dqkv, 3 * C);
    sgemm_float32(true, false, Tn, hs, Tn, 1.0f, datt, Tn, qkv, 3 * C, beta, dqkv + C, 3 * C);
  } else if (accumulate) {
    dQ.noalias() += dS * K;
    dK.noalias() += dS.transpose() * Q;
  } else {
    dQ.noalias() = dS * K;
    dK.noalias() = dS.transpose() * Q;
  }
}

// Start of each sequence's probabilities in a packed att buffer: H * sum of earlier lengths^2.
inline std::vector<int64_t> packed_att_offsets(const int64_t* offsets, int64_t B, int64_t H) {
  std::vector<int64_t> start(B + 1, 0);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = offsets[b + 1] - offsets[b];
    start[b + 1] = start[b] + H * len * len;
  }
  return start;
}

}  // namespace detail

// qkv [B, T, 3C] = (q | k | v); out [B, T, C]; att [B, H, T, T] caches the probabilities.
// key_valid [B, T]: 1 for real positions, 0 for padding (null: all valid).
template <typename T>
void attention_forward(T* out, T* att, const T* qkv, const uint8_t* key_valid, int64_t B,
                       int64_t Tn, int64_t C, int64_t H, bool causal) {
  KernelTimer timer(Kernel::Attention);
  const int64_t hs = C / H;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      detail::attend_forward(
          out + b * Tn * C + h * hs, att + (b * H + h) * Tn * Tn, qkv + b * Tn * 3 * C + h * hs,
          key_valid == nullptr ? nullptr : key_valid + b * Tn, Tn, C, hs, causal);
}

// Accumulates dqkv [B, T, 3C] from dout [B, T, C] and the cached probabilities.
template <typename T>
void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* att, int64_t B, int64_t Tn,
                        int64_t C, int64_t H) {
  KernelTimer timer(Kernel::Attention);
  const int64_t hs = C / H;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      std::vector<T> datt(Tn * Tn);
      detail::attend_backward(dqkv + b * Tn * 3 * C + h * hs, dout + b * Tn * C + h * hs,
                              qkv + b * Tn * 3 * C + h * hs, att + (b * H + h) * Tn * Tn, Tn, C, hs,
                              datt.data());
    }
}

// Packed sequences: sequence b is rows offsets[b] .. offsets[b+1]-1 of qkv [R, 3C] and
// out [R, C], all of them real. att holds packed_attention_size(offsets, B, H) probabilities.
inline int64_t packed_attention_size(const int64_t* offsets, int64_t B, int64_t H) {
  return detail::packed_att_offsets(offsets, B, H)[B];
}

namespace detail {

// Calls f(first row, length, probabilities, head) for every (sequence, head) of a packed batch,
// in parallel; work grows with length^2, so pairs are handed out dynamically.
template <typename T, typename F>
void for_each_packed_head(T* att, const int64_t* offsets, int64_t B, int64_t H, F&& f) {
  const std::vector<int64_t> start = packed_att_offsets(offsets, B, H);
#pragma omp parallel for collapse(2) schedule(dynamic, 4)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t len = offsets[b + 1] - offsets[b];
      f(offsets[b], len, att + start[b] + h * len * len, h);
    }
}

}  // namespace detail

template <typename T>
void attention_forward_packed(T* out, T* att, const T* qkv, const int64_t* offsets, int64_t B,
                              int64_t C, int64_t H, bool causal) {
  KernelTimer timer(Kernel::Attention);
  const int64_t hs = C / H;
  detail::for_each_packed_head(att, offsets, B, H, [&](int64_t r0, int64_t len, T* a, int64_t h) {
    detail::attend_forward(out + r0 * C + h * hs, a, qkv + r0 * 3 * C + h * hs,
                           static_cast<const uint8_t*>(nullptr), len, C, hs, causal);
  });
}

// Accumulates dqkv [R, 3C]; overwrites it when !accumulate (then it need not be initialised).
template <typename T>
void attention_backward_packed(T* dqkv, const T* dout, const T* qkv, const T* att,
                               const int64_t* offsets, int64_t B, int64_t C, int64_t H,
                               bool accumulate = true) {
  KernelTimer timer(Kernel::Attention);
  const int64_t hs = C / H;
  detail::for_each_packed_head(
      att, offsets, B, H, [&](int64_t r0, int64_t len, const T* a, int64_t h) {
        std::vector<T> datt(len * len);
        detail::attend_backward(dqkv + r0 * 3 * C + h * hs, dout + r0 * C + h * hs,
                                qkv + r0 * 3 * C + h * hs, a, len, C, hs, datt.data(), accumulate);
      });
}

}  // namespace sessrec::nn
