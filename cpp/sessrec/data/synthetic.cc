#include "sessrec/data/synthetic.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>

#include "sessrec/errors.h"
#include "sessrec/random.h"

namespace sessrec {
namespace {

std::mt19937_64 stream(uint64_t seed, uint64_t a, uint64_t b = 0) {
  return std::mt19937_64(mix64(mix64(seed ^ 0x5E55EC) ^ mix64(a + 1)) ^ mix64(b + 7));
}

// Pronounceable pseudo-words: the vocabulary of topics, brands and attributes.
std::string make_word(std::mt19937_64& rng, int syllables) {
  static const char* onsets[] = {"b", "c", "d", "f", "g", "h",  "k",  "l",  "m",  "n",  "p",
                                 "r", "s", "t", "v", "z", "br", "cl", "st", "tr", "sh", "gr"};
  static const char* vowels[] = {"a", "e", "i", "o", "u", "ai", "ou", "ea"};
  std::string word;
  for (int s = 0; s < syllables; ++s) {
    word += onsets[rng() % (sizeof(onsets) / sizeof(*onsets))];
    word += vowels[rng() % (sizeof(vowels) / sizeof(*vowels))];
  }
  if (rng() % 2) word += "n";
  return word;
}

// Cumulative weights for sampling by binary search.
struct Sampler {
  std::vector<int32_t> values;
  std::vector<double> cumulative;
  bool empty() const { return values.empty(); }
  int32_t draw(std::mt19937_64& rng) const {
    std::uniform_real_distribution<double> u(0.0, cumulative.back());
    const size_t k =
        std::upper_bound(cumulative.begin(), cumulative.end(), u(rng)) - cumulative.begin();
    return values[std::min(k, values.size() - 1)];
  }
  void add(int32_t value, double weight) {
    values.push_back(value);
    cumulative.push_back((cumulative.empty() ? 0.0 : cumulative.back()) + weight);
  }
};

}  // namespace

void SyntheticConfig::validate() const {
  if (num_items < 2) throw InputError("synthetic: num_items must be >= 2");
  if (num_sessions < 1) throw InputError("synthetic: num_sessions must be >= 1");
  if (num_topics < 1 || num_topics > num_items)
    throw InputError("synthetic: num_topics must be in 1..num_items");
  if (num_brands < 1) throw InputError("synthetic: num_brands must be >= 1");
  if (image_dim < 0) throw InputError("synthetic: image_dim must be >= 0");
  if (!(image_noise >= 0)) throw InputError("synthetic: image_noise must be >= 0");
  if (mean_session_length < 2) throw InputError("synthetic: mean_session_length must be >= 2");
  if (!(cold_share >= 0 && cold_share < 1))
    throw InputError("synthetic: cold_share must be in [0, 1)");
  if (!(cold_period > 0 && cold_period < 1))
    throw InputError("synthetic: cold_period must be in (0, 1)");
  if (!(topic_drift >= 0 && topic_drift <= 1))
    throw InputError("synthetic: topic_drift must be in [0, 1]");
  if (search_share < 0 || add_share < 0 || buy_share < 0 ||
      search_share + add_share + buy_share > 1)
    throw InputError("synthetic: action shares must be non-negative and sum to at most 1");
  if (time_span <= 0) throw InputError("synthetic: time_span must be positive");
  if (!(purchase_intent >= 0 && purchase_intent <= 1))
    throw InputError("synthetic: purchase_intent must be in [0, 1]");
}

SyntheticData generate_synthetic(const SyntheticConfig& config) {
  config.validate();
  const int64_t n_items = config.num_items, n_topics = config.num_topics;
  SyntheticData out;
  std::mt19937_64 rng = stream(config.seed, 0xCA7A106);

  // Vocabularies.
  const int words_per_topic = 12;
  std::vector<std::vector<std::string>> topic_words(n_topics);
  for (auto& words : topic_words)
    for (int w = 0; w < words_per_topic; ++w) words.push_back(make_word(rng, 2 + rng() % 2));
  std::vector<std::string> nouns, colours, materials;
  for (int w = 0; w < 30; ++w) nouns.push_back(make_word(rng, 2));
  for (int w = 0; w < 16; ++w) colours.push_back(make_word(rng, 1));
  for (int w = 0; w < 12; ++w) materials.push_back(make_word(rng, 2));
  for (int64_t b = 0; b < config.num_brands; ++b) {
    std::string name = make_word(rng, 2);
    name[0] = static_cast<char>(std::toupper(name[0]));
    out.brand_names.push_back(name + std::to_string(b));
  }

  // Items: topic, brand, price, title, popularity rank, cold flag.
  out.topic.resize(n_items);
  out.brand.resize(n_items);
  out.price.resize(n_items);
  out.cold.assign(n_items, 0);
  std::vector<int32_t> popularity_rank(n_items);
  std::iota(popularity_rank.begin(), popularity_rank.end(), 1);
  std::shuffle(popularity_rank.begin(), popularity_rank.end(), rng);
  std::vector<int32_t> topic_brands(n_topics);
  for (int64_t t = 0; t < n_topics; ++t) topic_brands[t] = rng() % config.num_brands;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::lognormal_distribution<double> price_noise(0.0, 0.35);
  out.item_ids.reserve(n_items, n_items * 8);
  out.titles.reserve(n_items, n_items * 48);
  std::string title;
  for (int64_t i = 0; i < n_items; ++i) {
    const int32_t t = i < n_topics ? i : rng() % n_topics;  // every topic has an item
    out.topic[i] = t;
    out.brand[i] = unit(rng) < 0.6 ? (topic_brands[t] + rng() % 3) % config.num_brands
                                   : rng() % config.num_brands;
    out.price[i] = static_cast<float>((5.0 + 3.0 * (t % 7)) * price_noise(rng));
    out.cold[i] = unit(rng) < config.cold_share && i >= n_topics ? 1 : 0;
    title.clear();
    title += out.brand_names.at(out.brand[i]);
    const int n_words = 2 + rng() % 2;
    for (int w = 0; w < n_words; ++w) title += " " + topic_words[t][rng() % words_per_topic];
    title += " " + nouns[(t * 7 + rng() % 3) % nouns.size()];
    if (unit(rng) < 0.6) title += " " + colours[rng() % colours.size()];
    if (unit(rng) < 0.4) title += " " + materials[rng() % materials.size()];
    out.item_ids.push_back("i" + std::to_string(i));
    out.titles.push_back(title);
  }

  if (config.image_dim > 0) {  // topic prototypes plus noise, from a stream of their own
    std::mt19937_64 image_rng = stream(config.seed, 0x1A6E);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const int64_t F = config.image_dim;
    std::vector<float> prototype(n_topics * F);
    for (float& x : prototype) x = normal(image_rng);
    out.image.resize(n_items * F);
    for (int64_t i = 0; i < n_items; ++i)
      for (int64_t f = 0; f < F; ++f)
        out.image[i * F + f] = prototype[out.topic[i] * F + f] +
                               static_cast<float>(config.image_noise) * normal(image_rng);
  }

  // Per-topic samplers; warm-only samplers serve sessions before the cold period.
  std::vector<Sampler> all_items(n_topics), warm_items(n_topics);
  std::vector<double> topic_weight(n_topics, 0.0);
  for (int64_t i = 0; i < n_items; ++i) {
    const double w = 1.0 / std::pow(static_cast<double>(popularity_rank[i]), config.zipf_exponent);
    all_items[out.topic[i]].add(static_cast<int32_t>(i), w);
    if (!out.cold[i]) warm_items[out.topic[i]].add(static_cast<int32_t>(i), w);
    topic_weight[out.topic[i]] += w;
  }
  Sampler topics;
  for (int64_t t = 0; t < n_topics; ++t)
    if (!warm_items[t].empty()) topics.add(static_cast<int32_t>(t), topic_weight[t]);

  // Session lengths (pass 1), then contents (pass 2), each session from its own stream.
  const int64_t n_sessions = config.num_sessions;
  auto session_length = [&](std::mt19937_64& session_rng) {
    std::poisson_distribution<int64_t> extra(config.mean_session_length - 2.0);
    return 2 + extra(session_rng);
  };
  SessionStore& store = out.sessions;
  store.offsets.assign(n_sessions + 1, 0);
  for (int64_t s = 0; s < n_sessions; ++s) {
    std::mt19937_64 session_rng = stream(config.seed, 1, s);
    store.offsets[s + 1] = store.offsets[s] + session_length(session_rng);
  }
  const int64_t n_events = store.offsets[n_sessions];
  store.items.resize(n_events);
  store.actions.resize(n_events);
  store.times.resize(n_events);
  std::vector<std::string> session_queries(n_sessions);
  std::vector<std::vector<int64_t>> query_positions(n_sessions);
  const int64_t cold_start =
      config.start_time + static_cast<int64_t>((1.0 - config.cold_period) * config.time_span);

#pragma omp parallel for schedule(dynamic, 256)
  for (int64_t s = 0; s < n_sessions; ++s) {
    std::mt19937_64 session_rng = stream(config.seed, 1, s);
    const int64_t length = session_length(session_rng);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    int64_t time = config.start_time + (s * config.time_span) / n_sessions +
                   static_cast<int64_t>(u(session_rng) * 600);
    const bool cold_allowed = time >= cold_start;
    const auto& samplers = cold_allowed ? all_items : warm_items;
    int32_t topic = topics.draw(session_rng);
    int32_t previous = -1;
    // The session's behaviour; purchase intent (SyntheticConfig) changes it, drawn only when on.
    double topic_drift = config.topic_drift, repeat_probability = config.repeat_probability;
    double add_share = config.add_share, buy_share = config.buy_share;
    if (config.purchase_intent > 0) {
      const double strength = config.purchase_intent;
      if (u(session_rng) < 0.5) {
        const double room = (1.0 - config.search_share) / std::max(add_share + buy_share, 1e-12);
        const double scale = std::min(1.0 + 2.0 * strength, room);
        add_share *= scale;
        buy_share *= scale;
        topic_drift *= 1.0 - strength;
        repeat_probability += strength * (0.3 - repeat_probability);
      } else {
        add_share *= 1.0 - strength;
        buy_share *= 1.0 - strength;
      }
    }
    const double view_share = 1.0 - config.search_share - add_share - buy_share;
    for (int64_t p = 0; p < length; ++p) {
      if (p > 0 && u(session_rng) < topic_drift) {
        // Drift mostly to a neighbouring topic, sometimes anywhere.
        const int32_t next = u(session_rng) < 0.7
                                 ? static_cast<int32_t>((topic + 1 + session_rng() % 2) % n_topics)
                                 : topics.draw(session_rng);
        if (!samplers[next].empty()) topic = next;
      }
      int32_t item = (previous >= 0 && u(session_rng) < repeat_probability)
                         ? previous
                         : samplers[topic].draw(session_rng);
      const int64_t e = store.offsets[s] + p;
      store.items[e] = item;
      store.times[e] = time;
      time += 5 + static_cast<int64_t>(u(session_rng) * 120);
      const double a = u(session_rng);
      int8_t action = kView;
      if (a < config.search_share)
        action = kSearch;
      else if (a < config.search_share + view_share)
        action = kView;
      else if (a < config.search_share + view_share + add_share)
        action = kAddToCart;
      else
        action = kBuy;
      store.actions[e] = action;
      if (action == kSearch) {
        const int32_t t = out.topic[item];
        std::string q = topic_words[t][session_rng() % words_per_topic];
        if (u(session_rng) < 0.5) q += " " + topic_words[t][session_rng() % words_per_topic];
        query_positions[s].push_back(p);
        session_queries[s] += q;
        session_queries[s] += '\n';
      }
      previous = item;
    }
  }

  // Per-event query text, assembled in event order.
  out.queries.reserve(n_events, 0);
  for (int64_t s = 0; s < n_sessions; ++s) {
    size_t cursor = 0, q = 0;
    for (int64_t p = 0; p < store.length(s); ++p) {
      if (q < query_positions[s].size() && query_positions[s][q] == p) {
        const size_t stop = session_queries[s].find('\n', cursor);
        out.queries.push_back(std::string_view(session_queries[s]).substr(cursor, stop - cursor));
        cursor = stop + 1;
        ++q;
      } else {
        out.queries.push_back("");
      }
    }
  }
  return out;
}

}  // namespace sessrec
