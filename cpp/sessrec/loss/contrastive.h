// Contrastive pair losses on cosine similarity: InfoNCE with a temperature and ArcCon with an
// additive angular margin, over in-batch negatives and optional queue negatives; symmetric and
// same-space variants; per-example weights.
//
// Anchors a [B, D] and positives p [B, D] (row b matches row b) are L2-normalised inside the op
// and the gradients go back through that normalisation. One "direction" x -> y scores anchor
// x_b against its positive y_b and against negatives n_j (j != b, the other rows of the batch)
// plus every row of a queue [Q, D] (normalised here too, no gradient):
//   cross      (the default): negatives from the positives' space, n = y;
//   same-space:               negatives from the anchors' own space, n = x.
// Logits are s * psi(cos(x_b, y_b)) for the positive and s * cos(x_b, n) for the negatives,
// a (1 + (B - 1) + Q)-way softmax with the positive as the label. ArcCon, KDD Cup 2023 paper
// (Zhang et al.) Eq. 5:
//   \mathcal{L}(x, y) = -\log \frac{e^{s \cos(\theta_{x, y_i} + m)}}
//                       {e^{s \cos(\theta_{x, y_i} + m)} + \sum_{j \neq i} e^{s \cos(\theta_{x,
//                       y_j})}}
// so psi(c) = cos(acos(c) + m). InfoNCE is the same softmax with m = 0 and s = 1 / tau
// (psi(c) = c, no clamping: info_nce(tau) == arccon(s = 1/tau, m = 0) exactly).
//
// The variant `symmetric` averages the direction a -> p and the direction p -> a (anchor p_b,
// positive a_b). The paper's decoupled loss (Eq. 6),
//   \text{min } \lambda_1 \mathcal{L}(x_s, x_t) + \lambda_2 \mathcal{L}(x_t, x_s)
//             + \lambda_3 \mathcal{L}(x_s, x_s) + \lambda_4 \mathcal{L}(x_t, x_t)
// (sessions x_s, target items x_t; the paper's default 0.35:0.35:0.15:0.15), reads L(x, y) as
// "anchor x, negatives from the space of y": with the session-target pairs as (a, p) it is
//   l1 * arccon(a, p) + l2 * arccon(p, a) + l3 * arccon(a, p, same_space)
//   + l4 * arccon(p, a, same_space),
// where every term keeps the pair's other view as its positive (a term whose positive were the
// anchor itself would be constant) and draws its queue from the negatives' space.
//
// Angular edge cases (margin > 0 only):
// - acos has slope -1/sqrt(1 - c^2), infinite at c = +-1: c is clamped to
//   [-1 + kArcCosClamp, 1 - kArcCosClamp] first, and outside that band the positive's logit is
//   constant (zero gradient), as torch.clamp followed by torch.acos would do.
// - theta + m > pi would make cos(theta + m) grow again as the positive gets worse: the angle is
//   capped at pi, so the logit is -s (its minimum) for theta >= pi - m, continuous, never
//   rewarding a worse positive, with zero gradient in that band (the negatives still push).
//
// Weights w [B] (nullptr: all 1, else finite and >= 0 with a positive sum):
//   loss = sum_b w_b l_b / sum_b w_b,
// l_b the per-example loss (the mean of the two directions' terms when symmetric), returned in
// example_loss [B] when it is given, so that a caller can derive the weights from them (MACL's
// adaptive weights: "a weight \alpha_i is assigned to each signal set to highlight informative
// signals while downplaying uninformative ones", Sec. 4.3; the weights are inputs here).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "sessrec/errors.h"
#include "sessrec/nn/l2_normalize.h"
#include "sessrec/nn/tensor.h"

namespace sessrec::loss {

// |cos| beyond 1 - kArcCosClamp is clamped before acos (see above).
inline constexpr double kArcCosClamp = 1e-6;
inline constexpr double kPi = 3.14159265358979323846;
// ---------------------------------------------------------------------------------------------
// The positive's margin: psi(c) = cos(min(acos(clamp(c)) + m, pi)) and its slope dpsi/dc
// = sin(theta + m) / sin(theta) inside the clamp band and below the pi cap, 0 outside.
template <typename T>
T angular_margin_forward(T c, T margin) {
  if (margin == T(0)) return c;
  const T band = T(1) - T(kArcCosClamp);
  const T theta = std::acos(std::clamp(c, -band, band));
  return std::cos(std::min(theta + margin, T(kPi)));
}
template <typename T>
T angular_margin_backward(T c, T margin) {
  if (margin == T(0)) return T(1);
  const T band = T(1) - T(kArcCosClamp);
  if (c < -band || c > band) return T(0);
  const T theta = std::acos(c);
  if (theta + margin >= T(kPi)) return T(0);
  return std::sin(theta + margin) / std::sin(theta);
}

// ---------------------------------------------------------------------------------------------
// One direction x -> y on unit rows. x, y, n [B, D] (n is y or x), queue [Q, D] (may be null
// when Q = 0). Forward fills loss [B] (the per-row cross-entropy), prob [B, B + Q] (the
// softmax: columns 0..B-1 the batch, column b the positive; then the queue) and pos_cos [B].
template <typename T>
void contrastive_direction_forward(T* loss, nn::MatrixRM<T>& prob, T* pos_cos, const T* x,
                                   const T* y, const T* n, const T* queue, int64_t B, int64_t Q,
                                   int64_t D, T scale, T margin) {
  using nn::MapConstMat;
  prob.resize(B, B + Q);
  MapConstMat<T> X(x, B, D);
  nn::parallel_product(prob.leftCols(B), X, MapConstMat<T>(n, B, D).transpose());
  if (Q > 0) nn::parallel_product(prob.rightCols(Q), X, MapConstMat<T>(queue, Q, D).transpose());
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; ++b) {
    T c = 0;
    for (int64_t d = 0; d < D; ++d) c += x[b * D + d] * y[b * D + d];
    pos_cos[b] = c;
    auto row = prob.row(b).array();
    row *= scale;
    row(b) = scale * angular_margin_forward(c, margin);
    const T positive = row(b);
    const T m = row.maxCoeff();
    row = (row - m).exp();
    const T sum = row.sum();
    row /= sum;
    loss[b] = m + std::log(sum) - positive;
  }
}
// Backward with row_scale [B] = d total / d loss_b: accumulates dx [B, D], dy [B, D] and dn
// [B, D] (dn may alias dx or dy; the queue gets no gradient). prob is overwritten.
template <typename T>
void contrastive_direction_backward(T* dx, T* dy, T* dn, nn::MatrixRM<T>& prob, const T* pos_cos,
                                    const T* row_scale, const T* x, const T* y, const T* n,
                                    const T* queue, int64_t B, int64_t Q, int64_t D, T scale,
                                    T margin) {
  using nn::MapConstMat;
  using nn::MapMat;
  std::vector<T> dpos(B);
  // prob becomes d total / d cos: scale * row_scale * (softmax - onehot), the positive's slot
  // moved to dpos (times psi') so that the batch block holds the negatives only.
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; ++b) {
    prob.row(b) *= scale * row_scale[b];
    dpos[b] = (prob(b, b) - scale * row_scale[b]) * angular_margin_backward(pos_cos[b], margin);
    prob(b, b) = 0;
  }
  MapConstMat<T> X(x, B, D);
  MapMat<T> dX(dx, B, D);
  nn::parallel_product(dX, prob.leftCols(B), MapConstMat<T>(n, B, D), true);
  if (Q > 0) nn::parallel_product(dX, prob.rightCols(Q), MapConstMat<T>(queue, Q, D), true);
  nn::parallel_product(MapMat<T>(dn, B, D), prob.leftCols(B).transpose(), X, true);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t d = 0; d < D; ++d) {
      dx[b * D + d] += dpos[b] * y[b * D + d];
      dy[b * D + d] += dpos[b] * x[b * D + d];
    }
}

// ---------------------------------------------------------------------------------------------
// The public op.

struct ContrastiveVariant {
  bool symmetric = false;   // mean of a -> p and p -> a
  bool same_space = false;  // negatives from the anchors' own space
};

// Extra negatives from memory queues, by the space they live in (rows need not be unit length;
// they are normalised here). A direction reads the queue of its negatives' space: a -> p reads
// positive_space (cross) or anchor_space (same-space); p -> a the other one.
template <typename T>
struct QueueNegatives {
  const T* anchor_space = nullptr;  // [anchor_rows, D]
  int64_t anchor_rows = 0;
  const T* positive_space = nullptr;  // [positive_rows, D]
  int64_t positive_rows = 0;
};

// The loss of the pairs (a, p): sum_b w_b l_b / sum_b w_b with l_b the per-example loss (written
// to example_loss [B] when given). Accumulates da, dp [B, D] when given. scale = s (1/tau for
// InfoNCE), margin = m in radians, 0 <= m < pi.
template <typename T>
T pair_contrastive(T* example_loss, T* da, T* dp, const T* a, const T* p, const T* weights,
                   int64_t B, int64_t D, const QueueNegatives<T>& queues, T scale, T margin,
                   ContrastiveVariant variant) {
  if (B <= 0 || D <= 0) throw InputError("contrastive loss: need B > 0 rows of D > 0 values");
  if (!(scale > T(0))) throw InputError("contrastive loss: scale (1/temperature) must be > 0");
  if (!(margin >= T(0) && margin < T(kPi)))
    throw InputError("contrastive loss: margin must be in [0, pi) radians, got " +
                     std::to_string(double(margin)));
  if ((queues.anchor_rows > 0 && queues.anchor_space == nullptr) ||
      (queues.positive_rows > 0 && queues.positive_space == nullptr) || queues.anchor_rows < 0 ||
      queues.positive_rows < 0)
    throw InputError("contrastive loss: a queue with rows needs its values");
  T total_weight = 0;
  for (int64_t b = 0; b < B; ++b) {
    const T w = weights != nullptr ? weights[b] : T(1);
    if (!(w >= T(0)) || !std::isfinite(double(w)))
      throw InputError("contrastive loss: weights must be finite and >= 0");
    total_weight += w;
  }
  if (!(total_weight > T(0))) throw InputError("contrastive loss: the weights sum to 0");

  // Unit rows of a, p and both queues.
  const int64_t Qa = queues.anchor_rows, Qp = queues.positive_rows;
  std::vector<T> ah(B * D), ph(B * D), na(B), np(B), qa(Qa * D), qp(Qp * D),
      qnorm(std::max(Qa, Qp));
  nn::l2_normalize_rows_forward(ah.data(), na.data(), a, B, D);
  nn::l2_normalize_rows_forward(ph.data(), np.data(), p, B, D);
  if (Qa > 0) nn::l2_normalize_rows_forward(qa.data(), qnorm.data(), queues.anchor_space, Qa, D);
  if (Qp > 0) nn::l2_normalize_rows_forward(qp.data(), qnorm.data(), queues.positive_space, Qp, D);

  const T share = variant.symmetric ? T(0.5) : T(1);
  std::vector<T> rows(B, T(0)), direction_loss(B), pos_cos(B), row_scale(B);
  for (int64_t b = 0; b < B; ++b)
    row_scale[b] = share * (weights != nullptr ? weights[b] : T(1)) / total_weight;
  std::vector<T> dah(B * D, T(0)), dph(B * D, T(0));
  const bool backward = da != nullptr || dp != nullptr;
  nn::MatrixRM<T> prob;
  // The direction x -> y; each space's queue rows come with it.
  auto direction = [&](const T* x, const T* y, T* dx, T* dy, const T* x_queue, int64_t x_rows,
                       const T* y_queue, int64_t y_rows) {
    const bool same = variant.same_space;
    const T* n = same ? x : y;
    T* dn = same ? dx : dy;
    const T* queue = same ? x_queue : y_queue;
    const int64_t Q = same ? x_rows : y_rows;
    contrastive_direction_forward(direction_loss.data(), prob, pos_cos.data(), x, y, n, queue, B, Q,
                                  D, scale, margin);
    for (int64_t b = 0; b < B; ++b) rows[b] += share * direction_loss[b];
    if (backward)
      contrastive_direction_backward(dx, dy, dn, prob, pos_cos.data(), row_scale.data(), x, y, n,
                                     queue, B, Q, D, scale, margin);
  };
  direction(ah.data(), ph.data(), dah.data(), dph.data(), qa.data(), Qa, qp.data(), Qp);
  if (variant.symmetric)
    direction(ph.data(), ah.data(), dph.data(), dah.data(), qp.data(), Qp, qa.data(), Qa);
  if (da != nullptr) nn::l2_normalize_rows_backward(da, dah.data(), ah.data(), na.data(), B, D);
  if (dp != nullptr) nn::l2_normalize_rows_backward(dp, dph.data(), ph.data(), np.data(), B, D);

  T loss = 0;
  for (int64_t b = 0; b < B; ++b) loss += (weights != nullptr ? weights[b] : T(1)) * rows[b];
  if (example_loss != nullptr) std::copy(rows.begin(), rows.end(), example_loss);
  return loss / total_weight;
}

// InfoNCE on cosine similarity: logits cos / temperature.
template <typename T>
T info_nce(T* example_loss, T* da, T* dp, const T* a, const T* p, const T* weights, int64_t B,
           int64_t D, const QueueNegatives<T>& queues, T temperature,
           ContrastiveVariant variant = {}) {
  if (!(temperature > T(0))) throw InputError("info_nce: temperature must be > 0");
  return pair_contrastive(example_loss, da, dp, a, p, weights, B, D, queues, T(1) / temperature,
                          T(0), variant);
}

// ArcCon (KDD Cup 2023 Eq. 5): positive logit s cos(theta + m), negatives s cos(theta).
template <typename T>
T arccon(T* example_loss, T* da, T* dp, const T* a, const T* p, const T* weights, int64_t B,
         int64_t D, const QueueNegatives<T>& queues, T scale, T margin,
         ContrastiveVariant variant = {}) {
  return pair_contrastive(example_loss, da, dp, a, p, weights, B, D, queues, scale, margin,
                          variant);
}

}  // namespace sessrec::loss
