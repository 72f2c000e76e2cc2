// A seeded synthetic session generator for tests, edge cases and scale benchmarks.
//
// Items belong to latent topics; a title is built from the item's brand, words of its topic and
// attribute words. Popularity inside the catalogue follows a Zipf law. A session starts in a
// topic and drifts to another with a fixed probability per step. Every event carries an action
// (search, view, add to cart, buy); a search also carries query text made of topic words. A
// chosen share of items is "cold": they only occur in sessions whose start time falls in the
// last `cold_period` fraction of the time span, so a temporal split with test >= cold_period
// sees them only in the test part. Sessions are generated in parallel, each from its own RNG
// stream, so the output depends on the seed alone, not on the thread count.
#pragma once
#include <cstdint>
#include <vector>

#include "sessrec/data/session_store.h"
#include "sessrec/data/text_column.h"

namespace sessrec {

enum SyntheticAction : int8_t { kSearch = 0, kView = 1, kAddToCart = 2, kBuy = 3 };

struct SyntheticConfig {
  int64_t num_items = 1000;
  int64_t num_sessions = 5000;
  int64_t num_topics = 20;
  int64_t num_brands = 50;
  double zipf_exponent = 1.0;
  double mean_session_length = 6.0;  // lengths are 2 + Poisson(mean - 2)
  double topic_drift = 0.15;         // chance per step to move to another topic
  double repeat_probability = 0.05;  // chance per step to repeat the previous item
  double cold_share = 0.05;          // share of items that are cold
  double cold_period = 0.1;          // cold items occur only in the last fraction of time
  double search_share = 0.1, add_share = 0.15, buy_share = 0.08;  // the rest are views
  // Purchase intent, s in [0, 1] (0: off, and then no random draw is added, so the output is the
  // same as without the option). With s > 0 each session draws a latent intent, on with
  // probability 1/2. An intent session multiplies add_share and buy_share by 1 + 2s (capped so
  // that they and search_share sum to at most 1), topic_drift by 1 - s, and moves
  // repeat_probability a share s of the way to 0.3: carts, purchases and repeated views in few
  // topics. A session without intent multiplies add_share and buy_share by 1 - s. Whether a
  // session buys can then be told, in part, from the events before the purchase.
  double purchase_intent = 0.0;
  int64_t start_time = 1'600'000'000;
  int64_t time_span = 90 * 24 * 3600;
  uint64_t seed = 0;
  // Image-like item vectors (0: none): the item's topic prototype plus image_noise times
  // standard normal noise per entry, prototypes N(0, 1) per topic. Drawn from their own stream,
  // so every other output is the same with or without them.
  int64_t image_dim = 0;
  double image_noise = 1.0;

  void validate() const;
};

struct SyntheticData {
  SessionStore sessions;   // with actions and times
  TextColumn queries;      // per event; empty unless the action is a search
  TextColumn item_ids;     // "i0", "i1", ...
  TextColumn titles;
  std::vector<int32_t> brand;   // code into brand_names
  TextColumn brand_names;
  std::vector<float> price;
  std::vector<int32_t> topic;   // the latent topic of each item (ground truth)
  std::vector<uint8_t> cold;    // 1 for cold items
  std::vector<float> image;     // [num_items, image_dim] when image_dim > 0, else empty
};

SyntheticData generate_synthetic(const SyntheticConfig& config);

}  // namespace sessrec
