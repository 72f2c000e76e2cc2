#include "sessrec/loss/mined_softmax.h"

#include <algorithm>
#include <chrono>

#include "sessrec/loss/candidate_softmax.h"
#include "sessrec/random.h"

namespace sessrec::loss {

MinedSoftmax::MinedSoftmax(MiningConfig mining, int64_t num_items, uint64_t seed)
    : mining_(std::move(mining)), num_items_(num_items), seed_(seed) {
  mining_.validate();
}

float MinedSoftmax::forward_backward(const ObjectiveBatch& batch, nn::Parameter& items, float* dH) {
  const int64_t D = batch.dim, N = num_items_, M = batch.rows;
  const bool teacher = batch.teacher_H != nullptr && batch.teacher_items != nullptr;
  const MiningLayout layout = mining_layout(mining_, N, teacher);
  const int64_t C = layout.columns();
  std::vector<int32_t> cand(M * C, -1);
  nn::FloatBuffer label(M * C, 0.0f);
  const uint64_t key = mix64(mix64(seed_ ^ 0xA17E5ULL) ^ mix64(batch.step));

  const auto start = std::chrono::steady_clock::now();
  const int64_t chunk = 256;  // teacher score rows in flight: chunk x N floats
  nn::FloatBuffer scores;
  for (int64_t first = 0; first < M; first += chunk) {
    const int64_t rows = std::min(chunk, M - first);
    if (teacher) {
      scores.resize(rows * N);
      nn::parallel_product(nn::MapMat<float>(scores.data(), rows, N),
                           nn::MapConstMat<float>(batch.teacher_H + first * D, rows, D),
                           nn::MapConstMat<float>(batch.teacher_items + D, N, D).transpose());
    }
    mine_candidates(teacher ? scores.data() : nullptr, rows, N, batch.target + first, layout,
                    mining_.aug_weight, key, first, cand.data() + first * C,
                    label.data() + first * C);
  }
  candidate_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const float* no_logq = nullptr;
  const float loss =
      prefer_dense_candidates(M, C, items.rows)
          ? candidate_softmax_dense(dH, items.gradient(), batch.H, items.data(), cand.data(),
                                    label.data(), no_logq, M, C, D, items.rows,
                                    mining_.separate_positives)
          : candidate_softmax(dH, items.gradient(), batch.H, items.data(), cand.data(),
                              label.data(), no_logq, M, C, D, mining_.separate_positives);
  for (int32_t id : cand)
    if (id > 0) items.touch_row(id);
  return loss;
}

}  // namespace sessrec::loss
