// Tokenizer, LSA features and averaged word vectors.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <fstream>
#include <map>

#include "sessrec/errors.h"
#include "sessrec/text/lsa.h"
#include "sessrec/text/tokenizer.h"
#include "sessrec/text/word_vectors.h"

using namespace sessrec;

namespace {
TextColumn corpus() {
  TextColumn t;
  const char* rows[] = {"red ceramic coffee mug", "blue ceramic tea mug", "green garden hose",
                        "garden hose reel", "", "RED Coffee Cup", "tea cup and saucer",
                        "hose pipe for the garden"};
  for (int rep = 0; rep < 20; ++rep)
    for (const char* r : rows) t.push_back(r);
  return t;
}
}  // namespace

TEST(Tokenizer, TrainEncodeAndReload) {
  TokenizerConfig c;
  c.vocab_size = 60;
  c.special_tokens = {"[CLS]", "[BUY]"};
  Tokenizer tok = Tokenizer::train(corpus(), c);
  EXPECT_LE(tok.vocab_size(), 60);
  EXPECT_EQ(tok.piece(0), "<pad>");
  EXPECT_EQ(tok.piece(1), "<unk>");
  EXPECT_EQ(tok.piece(tok.piece_id("[CLS]")), "[CLS]");
  // Case folding: "RED" and "red" encode alike.
  EXPECT_EQ(tok.encode("RED mug"), tok.encode("red mug"));
  TokenCSR all = tok.encode_all(corpus());
  EXPECT_EQ(all.rows(), 160);
  EXPECT_EQ(all.offsets[5] - all.offsets[4], 0);  // the empty row
  Tokenizer again = Tokenizer::load(tok.serialized());
  EXPECT_EQ(again.encode("garden hose"), tok.encode("garden hose"));
  // Same seed and settings: same model.
  EXPECT_EQ(Tokenizer::train(corpus(), c).serialized(), tok.serialized());
}

TEST(Tokenizer, Errors) {
  EXPECT_THROW(Tokenizer::load("not a model"), InputError);
  TextColumn empty;
  empty.push_back("");
  empty.push_back("   ");
  EXPECT_THROW(Tokenizer::train(empty, TokenizerConfig{}), InputError);
  TokenizerConfig bad;
  bad.model_type = "wordpiece";
  EXPECT_THROW(Tokenizer::train(corpus(), bad), InputError);
}

TEST(LSA, MatchesExactSVDAndSeparatesTopics) {
  // Two disjoint vocabularies: rows 0-2 use tokens 0-2, rows 3-5 use tokens 3-5.
  TokenCSR t;
  const std::vector<std::vector<int32_t>> rows{{0, 1}, {1, 2, 2}, {0, 2}, {3, 4}, {4, 5}, {3, 5, 5}};
  for (const auto& r : rows) {
    t.ids.insert(t.ids.end(), r.begin(), r.end());
    t.offsets.push_back(t.ids.size());
  }
  LSAConfig c;
  c.dim = 2;
  c.normalize = false;
  c.oversample = 4;
  int64_t k = 0;
  std::vector<float> f = lsa_features(t, 6, c, &k);
  ASSERT_EQ(k, 2);
  // Row norms of U*Sigma equal the norms of the rank-2 projection of the TF-IDF rows; with two
  // disjoint blocks, each row lies in exactly one of the two leading directions.
  for (int r = 0; r < 3; ++r) EXPECT_GT(std::abs(f[r * 2 + 0]) + 1e-6, 0.0);
  auto dot = [&](int a, int b) { return f[a * 2] * f[b * 2] + f[a * 2 + 1] * f[b * 2 + 1]; };
  EXPECT_NEAR(dot(0, 3), 0.0, 1e-5);
  EXPECT_NEAR(dot(1, 5), 0.0, 1e-5);
  EXPECT_GT(dot(0, 1), 0.1);
  // The singular values equal an exact SVD's: compare the column norms of U*Sigma.
  Eigen::MatrixXd dense = Eigen::MatrixXd::Zero(6, 6);
  std::vector<int> df(6, 0);
  for (const auto& r : rows) {
    std::vector<int32_t> u(r);
    std::sort(u.begin(), u.end());
    u.erase(std::unique(u.begin(), u.end()), u.end());
    for (int32_t id : u) ++df[id];
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    std::map<int, int> counts;
    for (int32_t id : rows[i]) ++counts[id];
    for (auto [id, n] : counts)
      dense(i, id) = (1 + std::log(double(n))) * (std::log(7.0 / (1.0 + df[id])) + 1.0);
    dense.row(i).normalize();
  }
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(dense);
  for (int j = 0; j < 2; ++j) {
    double col = 0;
    for (int r = 0; r < 6; ++r) col += double(f[r * 2 + j]) * f[r * 2 + j];
    EXPECT_NEAR(std::sqrt(col), svd.singularValues()(j), 1e-4);
  }
  t.ids[0] = 9;
  EXPECT_THROW(lsa_features(t, 6, c, &k), InputError);
}

TEST(WordVectors, AverageAndErrors) {
  const std::string path = std::string(::testing::TempDir()) + "vectors.txt";
  {
    std::ofstream out(path);
    out << "3 2\nred 1 0\nmug 0 1\ncup 1 1\n";
  }
  TextColumn texts;
  texts.push_back("Red mug!");
  texts.push_back("plate");
  AveragedWordVectors v = average_word_vectors(path, texts);
  EXPECT_EQ(v.dim, 2);
  EXPECT_EQ(v.vocabulary, 3);
  EXPECT_FLOAT_EQ(v.features[0], 0.5f);
  EXPECT_FLOAT_EQ(v.features[1], 0.5f);
  EXPECT_EQ(v.covered[1], 0);
  {
    std::ofstream out(path);
    out << "red 1 0\nmug 0 1 2\n";
  }
  try {
    average_word_vectors(path, texts);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos);
  }
  EXPECT_THROW(average_word_vectors(path + ".missing", texts), InputError);
}
