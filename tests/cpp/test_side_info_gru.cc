// SideInfoGRU: finite-difference gradients of every parameter (item and side tables, GRU, dense
// layer) through the whole training loss, with and without the residual and with dropout masks
// on; without side fields and residual it is GRU4Rec exactly; refused configurations.
// The model runs in float32 (the GRU and linear kernels are checked in double in
// test_gradients.cc), so the step is 1e-2 and the tolerance 2e-3 absolute + 2e-2 relative.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "sessrec/errors.h"
#include "sessrec/models/gru4rec.h"
#include "sessrec/models/side_info_gru.h"

using namespace sessrec;

namespace {

constexpr int64_t kItems = 9;

SessionStore small_store() {
  SessionStore s;
  s.items = {0, 3, 5, 1, 2, 8, 4, 4, 6, 7, 1, 0, 2, 3, 5, 6};
  s.offsets = {0, 3, 5, 11, 16};  // lengths 3, 2, 6 (cut into windows), 5
  return s;
}

SideInfoGRUConfig small_config(int64_t fields, bool residual, float dropout) {
  SideInfoGRUConfig c;
  c.base.num_items = kItems;
  c.base.dim = 5;
  c.base.max_len = 4;
  c.base.dropout = dropout;
  c.base.seed = 7;
  c.hidden = 4;
  c.residual = residual;
  const std::vector<std::string> names = {"brand", "price"};
  const std::vector<int64_t> sizes = {3, 4};
  for (int64_t f = 0; f < fields; ++f) {
    c.field_names.push_back(names[f]);
    c.field_sizes.push_back(sizes[f]);
  }
  for (int64_t i = 0; i < kItems; ++i)
    for (int64_t f = 0; f < fields; ++f)  // item 2 misses every field (row 0)
      c.item_codes.push_back(i == 2 ? 0 : static_cast<int32_t>((i + f) % sizes[f]));
  return c;
}

void check_gradients(int64_t fields, bool residual, float dropout) {
  SideInfoGRU model(small_config(fields, residual, dropout));
  const SessionStore store = small_store();
  const TrainingWindows w = make_training_windows(store, model.config().max_len, false);
  std::mt19937_64 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (nn::Parameter* p : model.params().all())
    for (float& v : p->value) v = 0.4f * normal(rng);
  for (float& v : model.item_embedding().value) v = 0.4f * normal(rng);
  std::fill_n(model.item_embedding().value.begin(), model.config().dim, 0.0f);  // padding row
  // forward_backward keeps the step counter, so every call draws the same dropout masks.
  auto loss = [&] {
    const double L =
        model.forward_backward(store, w.begin.data(), w.end.data(), w.size(), false).loss;
    model.params().zero_grad();
    return L;
  };
  model.params().zero_grad();
  model.forward_backward(store, w.begin.data(), w.end.data(), w.size(), false);
  std::vector<std::vector<float>> analytic;
  for (nn::Parameter* p : model.params().all())
    analytic.emplace_back(p->grad.begin(), p->grad.end());
  model.params().zero_grad();
  int checked = 0;
  for (size_t k = 0; k < model.params().all().size(); ++k) {
    nn::Parameter* p = model.params().all()[k];
    for (int64_t i = 0; i < p->size(); ++i) {
      if (p == &model.item_embedding() && i < model.config().dim) continue;  // padding row
      const float keep = p->value[i], eps = 1e-2f;
      p->value[i] = keep + eps;
      const double up = loss();
      p->value[i] = keep - eps;
      const double down = loss();
      p->value[i] = keep;
      const double numeric = (up - down) / (2 * eps);
      EXPECT_NEAR(analytic[k][i], numeric, 2e-3 + 2e-2 * std::abs(numeric))
          << p->name << "[" << i << "] fields=" << fields << " residual=" << residual
          << " dropout=" << dropout;
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
}

}  // namespace

TEST(SideInfoGRU, GradientsWithSideFieldsAndResidual) { check_gradients(2, true, 0.0f); }
TEST(SideInfoGRU, GradientsWithDropoutMasks) { check_gradients(2, true, 0.3f); }
TEST(SideInfoGRU, GradientsWithoutResidual) { check_gradients(1, false, 0.0f); }
TEST(SideInfoGRU, GradientsWithoutSideFields) { check_gradients(0, true, 0.0f); }

TEST(SideInfoGRU, SideTablesGetGradientsOnlyInTouchedRows) {
  SideInfoGRU model(small_config(2, true, 0.0f));
  SessionStore store;
  store.items = {1, 3};  // the only input is item 1: brand row 1, price row 2
  store.offsets = {0, 2};
  const TrainingWindows w = make_training_windows(store, 4, false);
  model.params().zero_grad();
  model.forward_backward(store, w.begin.data(), w.end.data(), w.size(), false);
  const nn::Parameter& brand = model.params().get("side_embedding.brand");
  const int64_t D = model.config().dim;
  EXPECT_EQ(brand.touched_rows, std::vector<int32_t>{1});
  double missing = 0, other = 0, used = 0;
  for (int64_t d = 0; d < D; ++d) {
    missing += std::abs(brand.grad[d]);
    used += std::abs(brand.grad[D + d]);
    other += std::abs(brand.grad[2 * D + d]);
  }
  EXPECT_EQ(missing, 0.0);
  EXPECT_EQ(other, 0.0);
  EXPECT_GT(used, 0.0);
}

TEST(SideInfoGRU, WithoutSideFieldsOrResidualIsGRU4Rec) {
  SideInfoGRUConfig c = small_config(0, false, 0.2f);
  GRU4RecConfig g{c.base, c.hidden};
  SideInfoGRU side(c);
  GRU4Rec gru(g);
  const SessionStore store = small_store();
  const TrainingWindows w = make_training_windows(store, 4, false);
  nn::Adam opt_side, opt_gru;
  for (int step = 0; step < 3; ++step) {
    const float a =
        side.train_step(store, w.begin.data(), w.end.data(), w.size(), false, opt_side).loss;
    const float b =
        gru.train_step(store, w.begin.data(), w.end.data(), w.size(), false, opt_gru).loss;
    EXPECT_EQ(a, b) << "step " << step;
  }
  std::vector<int32_t> items = {1, 4, 2, 8};
  std::vector<int64_t> begin = {0, 1}, end = {3, 4};
  HistoryBatch h{items.data(), begin.data(), end.data(), 2};
  std::vector<float> sa(2 * kItems), sb(2 * kItems);
  side.score(h, sa.data());
  gru.score(h, sb.data());
  EXPECT_EQ(sa, sb);
}

TEST(SideInfoGRU, ResidualAddsTheMeanOfTheFusedVectors) {
  SideInfoGRU with(small_config(2, true, 0.0f)), without(small_config(2, false, 0.0f));
  std::vector<int32_t> items = {1, 4, 2};
  std::vector<int64_t> begin = {0}, end = {3};
  HistoryBatch h{items.data(), begin.data(), end.data(), 1};
  const int64_t D = with.config().dim;
  std::vector<float> a(D), b(D);
  with.encode(h, a.data());
  without.encode(h, b.data());
  // fused(i) = (E[i + 1] + brand[code] + price[code]) / 3; the residual is their mean over i.
  std::vector<float> mean(D, 0.0f);
  const auto& E = with.item_embedding().value;
  const auto& brand = with.params().get("side_embedding.brand").value;
  const auto& price = with.params().get("side_embedding.price").value;
  for (int32_t i : items) {
    const int64_t cb = i == 2 ? 0 : i % 3, cp = i == 2 ? 0 : (i + 1) % 4;
    for (int64_t d = 0; d < D; ++d)
      mean[d] += (E[(i + 1) * D + d] + brand[cb * D + d] + price[cp * D + d]) / 3.0f / 3.0f;
  }
  for (int64_t d = 0; d < D; ++d) EXPECT_NEAR(a[d] - b[d], mean[d], 1e-6f) << d;
}

TEST(SideInfoGRU, RefusesBadConfigurations) {
  auto expect_refused = [](SideInfoGRUConfig c, const std::string& what) {
    try {
      SideInfoGRU model(c);
      ADD_FAILURE() << "accepted: " << what;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  SideInfoGRUConfig c = small_config(2, true, 0.0f);
  c.item_codes.pop_back();
  expect_refused(c, "item_codes has 17 entries");
  c = small_config(2, true, 0.0f);
  c.item_codes[2] = 3;  // item 1, brand: 3 rows
  expect_refused(c, "side field 'brand' of item 1 has code 3");
  c = small_config(2, true, 0.0f);
  c.field_names[1] = "brand";
  expect_refused(c, "'brand' is given twice");
  c = small_config(2, true, 0.0f);
  c.field_sizes[0] = 0;
  expect_refused(c, "needs at least one row");
  c = small_config(2, true, 0.0f);
  c.hidden = 0;
  expect_refused(c, "hidden must be positive");
}
