// SessionStore, Catalog, the list-cell parser and the synthetic generator.
#include <gtest/gtest.h>

#include <omp.h>

#include <set>

#include "sessrec/data/catalog.h"
#include "sessrec/data/list_column.h"
#include "sessrec/data/session_store.h"
#include "sessrec/data/synthetic.h"
#include "sessrec/errors.h"

using namespace sessrec;

TEST(SessionStore, SubsetDropTailAndCounts) {
  SessionStore s;
  s.items = {1, 2, 3, 4, 5};
  s.times = {10, 11, 12, 5, 6};
  s.offsets = {0, 3, 5};
  s.validate(6);
  SessionStore r = s.subset({1, 0});
  EXPECT_EQ(r.items, (std::vector<int32_t>{4, 5, 1, 2, 3}));
  EXPECT_EQ(r.times, (std::vector<int64_t>{5, 6, 10, 11, 12}));
  SessionStore d = s.drop_tail(1);
  EXPECT_EQ(d.items, (std::vector<int32_t>{1, 2, 4}));
  EXPECT_EQ(d.offsets, (std::vector<int64_t>{0, 2, 3}));
  EXPECT_EQ(s.session_start_times(), (std::vector<int64_t>{10, 5}));
  EXPECT_EQ(s.item_counts(6), (std::vector<int64_t>{0, 1, 1, 1, 1, 1}));
}

TEST(SessionStore, ValidateNamesTheProblem) {
  SessionStore s;
  s.items = {1, 7};
  s.offsets = {0, 2};
  try {
    s.validate(5);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("event 1"), std::string::npos);
  }
  s.offsets = {0, 3};
  EXPECT_THROW(s.validate(10), InputError);
}

TEST(Catalog, LookupAndErrors) {
  TextColumn ids;
  for (const char* id : {"a", "bb", "ccc"}) ids.push_back(id);
  Catalog c(ids);
  EXPECT_EQ(c.index_of("bb"), 1);
  EXPECT_THROW(c.index_of("zz"), UnknownKeyError);
  TextColumn query;
  query.push_back("ccc");
  query.push_back("nope");
  EXPECT_EQ(c.indices_of(query), (std::vector<int32_t>{2, -1}));
  Catalog copy = c;  // the index survives copies
  EXPECT_EQ(copy.index_of("ccc"), 2);
  TextColumn dup;
  dup.push_back("x");
  dup.push_back("x");
  EXPECT_THROW(Catalog{dup}, InputError);
  EXPECT_THROW(c.set_numeric("price", {1.0f}), InputError);
  EXPECT_THROW(c.set_categorical("brand", {{0, 5, 0}, {"only"}}), InputError);
}

TEST(ListColumn, NumpyAndPythonStyles) {
  TextColumn cells;
  cells.push_back("['B09W9FND7K' 'B09JSPLN1M']");
  cells.push_back("['a', 'b',\n 'c']");
  cells.push_back("[]");
  ParsedLists p = parse_list_column(cells, "sessions.csv", 2);
  EXPECT_EQ(p.offsets, (std::vector<int64_t>{0, 2, 5, 5}));
  EXPECT_EQ(p.tokens.at(1), "B09JSPLN1M");
  EXPECT_EQ(p.tokens.at(4), "c");
  TextColumn bad;
  bad.push_back("['ok']");
  bad.push_back("'no brackets'");
  try {
    parse_list_column(bad, "sessions.csv", 2);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("sessions.csv, line 3"), std::string::npos);
  }
}

TEST(Synthetic, DeterministicColdItemsOnlyLate) {
  SyntheticConfig c;
  c.num_items = 500;
  c.num_sessions = 3000;
  c.cold_share = 0.1;
  c.seed = 42;
  omp_set_num_threads(1);
  SyntheticData a = generate_synthetic(c);
  omp_set_num_threads(2);
  SyntheticData b = generate_synthetic(c);
  EXPECT_EQ(a.sessions.items, b.sessions.items);
  EXPECT_EQ(a.queries.bytes, b.queries.bytes);
  a.sessions.validate(c.num_items);
  const int64_t cold_start = c.start_time + int64_t((1.0 - c.cold_period) * c.time_span);
  int64_t cold_events = 0, searches_with_text = 0;
  for (int64_t e = 0; e < a.sessions.num_events(); ++e) {
    if (a.cold[a.sessions.items[e]]) {
      ++cold_events;
      EXPECT_GE(a.sessions.times[e], cold_start);
    }
    if (a.sessions.actions[e] == kSearch) searches_with_text += !a.queries.at(e).empty();
    else EXPECT_TRUE(a.queries.at(e).empty());
  }
  EXPECT_GT(cold_events, 0);
  EXPECT_GT(searches_with_text, 0);
  // Titles contain the brand name.
  EXPECT_EQ(a.titles.at(0).find(a.brand_names.at(a.brand[0])), 0u);
  c.seed = 43;
  EXPECT_NE(generate_synthetic(c).sessions.items, a.sessions.items);
}
