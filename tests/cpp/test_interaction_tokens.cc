// Interaction token sequences (text/interaction_tokens.h) on hand-made inputs.
#include <gtest/gtest.h>
#include <omp.h>

#include <random>
#include <vector>

#include "sessrec/errors.h"
#include "sessrec/text/interaction_tokens.h"

using namespace sessrec;

namespace {

// Special token IDs of a pretend sentencepiece model.
constexpr int32_t CLS = 2, VIEW = 10, ADD = 11, BUY = 12, SEARCH = 13;
constexpr int32_t TITLE = 20, CATEGORY = 21, BRAND = 22;

struct Csr {
  std::vector<int64_t> offsets{0};
  std::vector<int32_t> ids;
  Csr(std::initializer_list<std::vector<int32_t>> rows) {
    for (const auto& r : rows) {
      ids.insert(ids.end(), r.begin(), r.end());
      offsets.push_back(static_cast<int64_t>(ids.size()));
    }
  }
  TokenRows view() const {
    return TokenRows{offsets.data(), ids.data(), static_cast<int64_t>(offsets.size()) - 1};
  }
};

// Three items: title, category, brand (item 2 has no title, item 1 no category).
const Csr kTitles{{100, 101, 102}, {103}, {}};
const Csr kCategories{{200}, {}, {201}};
const Csr kBrands{{300, 301}, {302}, {}};

std::vector<ItemField> fields() {
  return {ItemField{kTitles.view(), TITLE, true}, ItemField{kCategories.view(), CATEGORY, false},
          ItemField{kBrands.view(), BRAND, false}};
}

InteractionConfig config(int32_t cls = CLS) {
  InteractionConfig c;
  c.cls_id = cls;
  return c;
}

std::vector<int32_t> row(const TokenLists& t, int64_t r) {
  return {t.ids.begin() + t.offsets[r], t.ids.begin() + t.offsets[r + 1]};
}

std::vector<int32_t> interaction(const InteractionLists& t, int64_t i) {
  return {t.ids.begin() + t.token_offsets[i], t.ids.begin() + t.token_offsets[i + 1]};
}

// Session 0: search (with a query), view, add, buy; session 1: two views.
SessionStore store() {
  SessionStore s;
  s.offsets = {0, 4, 6};
  s.items = {0, 1, 2, 0, 1, 2};
  s.actions = {3, 0, 1, 2, 0, 0};  // 0 view, 1 add, 2 buy, 3 search
  return s;
}
const Csr kQueries{{400, 401}, {}, {}, {}, {}, {}};
const ActionTokens kActions{{VIEW, ADD, BUY, SEARCH}, VIEW};

struct Built {
  TokenLists item_text;
  InteractionLists lists;
};

Built build(const SessionStore& s, std::vector<int64_t> begin, std::vector<int64_t> end,
            const InteractionConfig& c, bool with_queries = true) {
  Built b;
  b.item_text = item_text_tokens(fields(), 3, c);
  TokenRows text{b.item_text.offsets.data(), b.item_text.ids.data(), 3};
  QueryTokens q;
  if (with_queries) q.tokens = kQueries.view();
  b.lists = interaction_token_lists(s, begin.data(), end.data(), static_cast<int64_t>(begin.size()),
                                    text, q, kActions, c);
  return b;
}

}  // namespace

TEST(InteractionTokens, ItemTextPutsEachNonEmptyFieldBehindItsMarker) {
  const TokenLists t = item_text_tokens(fields(), 3, config());
  ASSERT_EQ(t.size(), 3);
  EXPECT_EQ(row(t, 0),
            (std::vector<int32_t>{TITLE, 100, 101, 102, CATEGORY, 200, BRAND, 300, 301}));
  EXPECT_EQ(row(t, 1), (std::vector<int32_t>{TITLE, 103, BRAND, 302}));
  EXPECT_EQ(row(t, 2), (std::vector<int32_t>{CATEGORY, 201}));
}

TEST(InteractionTokens, TitleAndItemTextAreCut) {
  InteractionConfig c = config();
  c.max_title_tokens = 1;
  EXPECT_EQ(row(item_text_tokens(fields(), 3, c), 0),
            (std::vector<int32_t>{TITLE, 100, CATEGORY, 200, BRAND, 300, 301}));
  c.max_title_tokens = 0;  // no title tokens: no [TITLE] either
  EXPECT_EQ(row(item_text_tokens(fields(), 3, c), 1), (std::vector<int32_t>{BRAND, 302}));
  c.max_title_tokens = 32;
  c.max_tokens_per_interaction = 5;
  EXPECT_EQ(row(item_text_tokens(fields(), 3, c), 0),
            (std::vector<int32_t>{TITLE, 100, 101, 102, CATEGORY}));
}

TEST(InteractionTokens, SessionsGetActionThenItemTextOrQuery) {
  const Built b = build(store(), {0, 4}, {4, 6}, config());
  const InteractionLists& t = b.lists;
  EXPECT_EQ(t.session_offsets, (std::vector<int64_t>{0, 4, 6}));
  EXPECT_EQ(interaction(t, 0), (std::vector<int32_t>{CLS, SEARCH, 400, 401}));
  EXPECT_EQ(interaction(t, 1), (std::vector<int32_t>{CLS, VIEW, TITLE, 103, BRAND, 302}));
  EXPECT_EQ(interaction(t, 2), (std::vector<int32_t>{CLS, ADD, CATEGORY, 201}));
  EXPECT_EQ(interaction(t, 3),
            (std::vector<int32_t>{CLS, BUY, TITLE, 100, 101, 102, CATEGORY, 200, BRAND, 300, 301}));
  EXPECT_EQ(interaction(t, 4), (std::vector<int32_t>{CLS, VIEW, TITLE, 103, BRAND, 302}));
  EXPECT_EQ(interaction(t, 5), (std::vector<int32_t>{CLS, VIEW, CATEGORY, 201}));
  EXPECT_EQ(t.items, (std::vector<int32_t>{0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(t.events, (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
}

TEST(InteractionTokens, WithoutClsTheActionComesFirst) {
  const Built b = build(store(), {0}, {2}, config(-1));
  EXPECT_EQ(interaction(b.lists, 0), (std::vector<int32_t>{SEARCH, 400, 401}));
  EXPECT_EQ(interaction(b.lists, 1), (std::vector<int32_t>{VIEW, TITLE, 103, BRAND, 302}));
}

TEST(InteractionTokens, SearchWithoutQueryTextReadsItsItem) {
  const Built b = build(store(), {0}, {1}, config(), /*with_queries=*/false);
  EXPECT_EQ(interaction(b.lists, 0), (std::vector<int32_t>{CLS, SEARCH, TITLE, 100, 101, 102,
                                                           CATEGORY, 200, BRAND, 300, 301}));
}

TEST(InteractionTokens, SessionsKeepTheMostRecentInteractions) {
  InteractionConfig c = config();
  c.max_interactions = 2;
  const Built b = build(store(), {0, 4}, {4, 6}, c);
  EXPECT_EQ(b.lists.session_offsets, (std::vector<int64_t>{0, 2, 4}));
  EXPECT_EQ(b.lists.events, (std::vector<int64_t>{2, 3, 4, 5}));
  EXPECT_EQ(interaction(b.lists, 0), (std::vector<int32_t>{CLS, ADD, CATEGORY, 201}));
}

TEST(InteractionTokens, InteractionsAreCutToTheirTokenLimit) {
  InteractionConfig c = config();
  c.max_tokens_per_interaction = 4;
  const Built b = build(store(), {0}, {4}, c);
  EXPECT_EQ(interaction(b.lists, 0), (std::vector<int32_t>{CLS, SEARCH, 400, 401}));
  EXPECT_EQ(interaction(b.lists, 1), (std::vector<int32_t>{CLS, VIEW, TITLE, 103}));
  EXPECT_EQ(interaction(b.lists, 3), (std::vector<int32_t>{CLS, BUY, TITLE, 100}));
  c.max_tokens_per_interaction = 2;  // [CLS] and the action alone
  const Built tiny = build(store(), {0}, {4}, c);
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(interaction(tiny.lists, i).size(), 2u);
  EXPECT_EQ(interaction(tiny.lists, 0), (std::vector<int32_t>{CLS, SEARCH}));
}

TEST(InteractionTokens, PrefixesAndEmptyRanges) {
  const Built b = build(store(), {0, 4, 1, 6}, {2, 5, 1, 6}, config());
  EXPECT_EQ(b.lists.session_offsets, (std::vector<int64_t>{0, 2, 3, 3, 3}));
  EXPECT_EQ(b.lists.events, (std::vector<int64_t>{0, 1, 4}));
}

TEST(InteractionTokens, EmptyItemTextLeavesTheActionAlone) {
  const Csr empty{{}, {}, {}};
  const std::vector<ItemField> none{ItemField{empty.view(), TITLE, true}};
  const TokenLists text = item_text_tokens(none, 3, config());
  EXPECT_EQ(text.offsets, (std::vector<int64_t>{0, 0, 0, 0}));
  SessionStore s = store();
  std::vector<int64_t> begin{1}, end{3};
  const InteractionLists t = interaction_token_lists(
      s, begin.data(), end.data(), 1, TokenRows{text.offsets.data(), text.ids.data(), 3},
      QueryTokens{}, kActions, config());
  EXPECT_EQ(interaction(t, 0), (std::vector<int32_t>{CLS, VIEW}));
  EXPECT_EQ(interaction(t, 1), (std::vector<int32_t>{CLS, ADD}));
}

TEST(InteractionTokens, StoreWithoutActionsIsAllViews) {
  SessionStore s = store();
  s.actions.clear();
  const Built b = build(s, {0}, {2}, config());
  EXPECT_EQ(interaction(b.lists, 0), (std::vector<int32_t>{CLS, VIEW, 400, 401}));
  EXPECT_EQ(interaction(b.lists, 1), (std::vector<int32_t>{CLS, VIEW, TITLE, 103, BRAND, 302}));
}

TEST(InteractionTokens, QueryRowsMapStoreEventsToQueries) {
  // A store holding only session 0's last two events reads queries 2 and 0 (out of order).
  SessionStore s;
  s.offsets = {0, 2};
  s.items = {2, 0};
  s.actions = {3, 2};
  const std::vector<int64_t> event_rows{0, -1};
  const TokenLists text = item_text_tokens(fields(), 3, config());
  QueryTokens q{kQueries.view(), event_rows.data()};
  std::vector<int64_t> begin{0}, end{2};
  const InteractionLists t = interaction_token_lists(
      s, begin.data(), end.data(), 1, TokenRows{text.offsets.data(), text.ids.data(), 3}, q,
      kActions, config());
  EXPECT_EQ(interaction(t, 0), (std::vector<int32_t>{CLS, SEARCH, 400, 401}));
  EXPECT_EQ(interaction(t, 1),
            (std::vector<int32_t>{CLS, BUY, TITLE, 100, 101, 102, CATEGORY, 200, BRAND, 300, 301}));
}

TEST(InteractionTokens, CandidatesAreOneInteractionWithoutAction) {
  InteractionConfig c = config();
  c.max_tokens_per_interaction = 4;
  const TokenLists text = item_text_tokens(fields(), 3, c);
  const std::vector<int32_t> indices{2, 0};
  const InteractionLists t = item_interaction_lists(
      TokenRows{text.offsets.data(), text.ids.data(), 3}, indices.data(), 2, c);
  EXPECT_EQ(t.session_offsets, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(interaction(t, 0), (std::vector<int32_t>{CLS, CATEGORY, 201}));
  EXPECT_EQ(interaction(t, 1), (std::vector<int32_t>{CLS, TITLE, 100, 101}));
  EXPECT_EQ(t.items, indices);
  EXPECT_EQ(t.events, (std::vector<int64_t>{-1, -1}));
  const InteractionLists bare = item_interaction_lists(
      TokenRows{text.offsets.data(), text.ids.data(), 3}, indices.data(), 2, config(-1));
  EXPECT_EQ(interaction(bare, 0), (std::vector<int32_t>{CATEGORY, 201}));
}

TEST(InteractionTokens, SameOutputAtAnyThreadCount) {
  std::mt19937 rng(7);
  const int64_t num_items = 500;
  std::vector<int64_t> offsets{0};
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < num_items; ++i) {
    for (int k = rng() % 50; k > 0; --k) ids.push_back(100 + rng() % 900);
    offsets.push_back(static_cast<int64_t>(ids.size()));
  }
  const std::vector<ItemField> f{
      ItemField{TokenRows{offsets.data(), ids.data(), num_items}, TITLE, true}};
  SessionStore s;
  for (int64_t session = 0; session < 3000; ++session) {
    for (int k = 1 + rng() % 60; k > 0; --k) {
      s.items.push_back(rng() % num_items);
      s.actions.push_back(rng() % 4);
    }
    s.offsets.push_back(static_cast<int64_t>(s.items.size()));
  }
  std::vector<int64_t> begin(s.offsets.begin(), s.offsets.end() - 1),
      end(s.offsets.begin() + 1, s.offsets.end());
  auto run = [&](int threads) {
    omp_set_num_threads(threads);
    const TokenLists text = item_text_tokens(f, num_items, config());
    return interaction_token_lists(s, begin.data(), end.data(), s.num_sessions(),
                                   TokenRows{text.offsets.data(), text.ids.data(), num_items},
                                   QueryTokens{}, kActions, config());
  };
  const InteractionLists one = run(1), two = run(2);
  omp_set_num_threads(omp_get_num_procs());
  EXPECT_EQ(one.session_offsets, two.session_offsets);
  EXPECT_EQ(one.token_offsets, two.token_offsets);
  EXPECT_EQ(one.ids, two.ids);
  for (int64_t r = 0; r < s.num_sessions(); ++r)
    EXPECT_LE(one.session_offsets[r + 1] - one.session_offsets[r], 32);
  for (int64_t i = 0; i < one.num_interactions(); ++i)
    EXPECT_LE(one.token_offsets[i + 1] - one.token_offsets[i], 64);
}

TEST(InteractionTokens, BadInputSaysWhatIsWrong) {
  auto message = [](auto&& call) -> std::string {
    try {
      call();
    } catch (const InputError& e) {
      return e.what();
    }
    return "no error";
  };
  InteractionConfig c = config();
  c.max_interactions = 0;
  EXPECT_NE(message([&] { c.validate(); }).find("max_interactions must be >= 1"),
            std::string::npos);
  c = config();
  c.max_tokens_per_interaction = 1;
  EXPECT_NE(message([&] { c.validate(); }).find("[CLS] and the action token"), std::string::npos);

  std::vector<ItemField> two_titles = fields();
  two_titles[1].is_title = true;
  EXPECT_NE(message([&] { item_text_tokens(two_titles, 3, config()); }).find("title"),
            std::string::npos);
  EXPECT_NE(message([&] { item_text_tokens(fields(), 4, config()); }).find("field 0 has 3 rows"),
            std::string::npos);
  std::vector<ItemField> no_marker = fields();
  no_marker[2].marker_id = -1;
  EXPECT_NE(message([&] { item_text_tokens(no_marker, 3, config()); }).find("field 2"),
            std::string::npos);
  Csr broken{{1}, {2}};
  broken.offsets = {0, 2, 1};
  EXPECT_NE(message([&] {
              item_text_tokens({ItemField{broken.view(), TITLE, true}}, 2, config());
            }).find("offsets decrease at row 1"),
            std::string::npos);

  EXPECT_NE(
      message([&] { build(store(), {2}, {5}, config()); }).find("runs past the end of session 0"),
      std::string::npos);
  EXPECT_NE(message([&] { build(store(), {3}, {7}, config()); }).find("not inside the store"),
            std::string::npos);
  EXPECT_NE(message([&] { build(store(), {3}, {2}, config()); }).find("range 0 [3, 2)"),
            std::string::npos);
  SessionStore bad_item = store();
  bad_item.items[5] = 3;
  EXPECT_NE(message([&] { build(bad_item, {4}, {6}, config()); }).find("event 5 has item 3"),
            std::string::npos);
  SessionStore bad_action = store();
  bad_action.actions[1] = 4;
  EXPECT_NE(
      message([&] { build(bad_action, {0}, {4}, config()); }).find("event 1 has action code 4"),
      std::string::npos);
  const TokenLists text = item_text_tokens(fields(), 3, config());
  const std::vector<int64_t> rows{0, 9, -1, -1, -1, -1};
  std::vector<int64_t> begin{0}, end{4};
  EXPECT_NE(message([&] {
              interaction_token_lists(store(), begin.data(), end.data(), 1,
                                      TokenRows{text.offsets.data(), text.ids.data(), 3},
                                      QueryTokens{kQueries.view(), rows.data()}, kActions,
                                      config());
            }).find("event 1 reads query row 9"),
            std::string::npos);
  SessionStore no_actions = store();
  no_actions.actions.clear();
  EXPECT_NE(message([&] {
              interaction_token_lists(no_actions, begin.data(), end.data(), 1,
                                      TokenRows{text.offsets.data(), text.ids.data(), 3},
                                      QueryTokens{}, ActionTokens{{}, -1}, config());
            }).find("no actions"),
            std::string::npos);
  const std::vector<int32_t> outside{1, 3};
  EXPECT_NE(message([&] {
              item_interaction_lists(TokenRows{text.offsets.data(), text.ids.data(), 3},
                                     outside.data(), 2, config());
            }).find("candidate 1 is item 3"),
            std::string::npos);
}
