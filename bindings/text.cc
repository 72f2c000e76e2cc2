// Bindings for cpp/sessrec/text: the sentencepiece tokenizer, LSA features, word vectors.
#include <pybind11/stl.h>

#include <optional>

#include "numpy_convert.h"
#include "sessrec/text/interaction_tokens.h"
#include "sessrec/text/lsa.h"
#include "sessrec/text/token_masking.h"
#include "sessrec/text/tokenizer.h"
#include "sessrec/text/word_vectors.h"

namespace sessrec::bindings {

namespace {

TokenCSR to_tokens(const Array<int64_t>& offsets, const Array<int32_t>& ids) {
  TokenCSR t;
  t.offsets = to_vector(offsets, "token offsets");
  t.ids = to_vector(ids, "token ids");
  if (t.offsets.empty() || t.offsets.front() != 0 ||
      t.offsets.back() != static_cast<int64_t>(t.ids.size()))
    throw InputError("token offsets do not describe the token array");
  for (size_t i = 1; i < t.offsets.size(); ++i)
    if (t.offsets[i] < t.offsets[i - 1]) throw InputError("token offsets decrease");
  return t;
}

// A view of (offsets, ids) for the call's duration; the core checks the offsets themselves.
TokenRows token_rows(const Array<int64_t>& offsets, const Array<int32_t>& ids, const char* what) {
  if (offsets.ndim() != 1 || ids.ndim() != 1 || offsets.size() < 1 ||
      offsets.at(offsets.size() - 1) != ids.size())
    throw InputError(std::string(what) + ": offsets must be 1-D and end at len(ids)");
  return TokenRows{offsets.data(), ids.data(), static_cast<int64_t>(offsets.size()) - 1};
}

py::dict interaction_dict(InteractionLists&& t) {
  py::dict d;
  d["session_offsets"] = to_numpy(std::move(t.session_offsets));
  d["token_offsets"] = to_numpy(std::move(t.token_offsets));
  d["ids"] = to_numpy(std::move(t.ids));
  d["items"] = to_numpy(std::move(t.items));
  d["events"] = to_numpy(std::move(t.events));
  return d;
}

void bind_interaction_tokens(py::module_& m) {
  py::class_<InteractionConfig>(m, "InteractionConfig",
                                "Limits of interaction token sequences (text/interaction_tokens.h)")
      .def(py::init<>())
      .def_readwrite("max_interactions", &InteractionConfig::max_interactions)
      .def_readwrite("max_title_tokens", &InteractionConfig::max_title_tokens)
      .def_readwrite("max_tokens_per_interaction", &InteractionConfig::max_tokens_per_interaction)
      .def_readwrite("cls_id", &InteractionConfig::cls_id)
      .def("validate", &InteractionConfig::validate);
  m.def(
      "interaction_item_text",
      [](const py::list& fields, int64_t num_items, const InteractionConfig& config) {
        // Each field: (offsets, ids, marker_id, is_title); keep_* hold the converted arrays.
        std::vector<Array<int64_t>> keep_offsets;
        std::vector<Array<int32_t>> keep_ids;
        std::vector<ItemField> core;
        for (size_t f = 0; f < fields.size(); ++f) {
          auto t = fields[f].cast<py::tuple>();
          if (t.size() != 4)
            throw InputError("interaction_item_text: field " + std::to_string(f) +
                             " must be (offsets, ids, marker_id, is_title)");
          keep_offsets.push_back(t[0].cast<Array<int64_t>>());
          keep_ids.push_back(t[1].cast<Array<int32_t>>());
          const std::string what = "interaction_item_text: field " + std::to_string(f);
          core.push_back(ItemField{token_rows(keep_offsets.back(), keep_ids.back(), what.c_str()),
                                   t[2].cast<int32_t>(), t[3].cast<bool>()});
        }
        TokenLists out;
        {
          py::gil_scoped_release release;
          out = item_text_tokens(core, num_items, config);
        }
        return py::make_tuple(to_numpy(std::move(out.offsets)), to_numpy(std::move(out.ids)));
      },
      py::arg("fields"), py::arg("num_items"), py::arg("config"),
      "Each item's text tokens: every non-empty field as marker + tokens, the title cut to "
      "max_title_tokens, the row to max_tokens_per_interaction. Returns (offsets, ids).");
  m.def(
      "interaction_token_lists",
      [](const SessionStore& store, const Array<int64_t>& begin, const Array<int64_t>& end,
         const Array<int64_t>& item_offsets, const Array<int32_t>& item_ids,
         std::vector<int32_t> actions_by_code, int32_t without_actions,
         const InteractionConfig& config, std::optional<Array<int64_t>> query_offsets,
         std::optional<Array<int32_t>> query_ids, std::optional<Array<int64_t>> query_rows) {
        if (begin.ndim() != 1 || end.ndim() != 1 || begin.size() != end.size())
          throw InputError("interaction_token_lists: begin and end must be 1-D and equally long");
        const TokenRows text =
            token_rows(item_offsets, item_ids, "interaction_token_lists: item text");
        QueryTokens queries;
        if (query_offsets.has_value() != query_ids.has_value())
          throw InputError(
              "interaction_token_lists: give both query_offsets and query_ids, or neither");
        if (query_offsets) {
          queries.tokens =
              token_rows(*query_offsets, *query_ids, "interaction_token_lists: queries");
          if (query_rows) {
            if (query_rows->ndim() != 1 || query_rows->size() != store.num_events())
              throw InputError(
                  "interaction_token_lists: query_rows needs one row per store event (" +
                  std::to_string(store.num_events()) + ")");
            queries.event_rows = query_rows->data();
          } else if (queries.tokens.rows != store.num_events()) {
            throw InputError("interaction_token_lists: " + std::to_string(queries.tokens.rows) +
                             " query rows for " + std::to_string(store.num_events()) +
                             " store events (pass query_rows to map them)");
          }
        }
        const ActionTokens actions{std::move(actions_by_code), without_actions};
        InteractionLists out;
        {
          py::gil_scoped_release release;
          out = interaction_token_lists(store, begin.data(), end.data(), begin.size(), text,
                                        queries, actions, config);
        }
        return interaction_dict(std::move(out));
      },
      py::arg("store"), py::arg("begin"), py::arg("end"), py::arg("item_offsets"),
      py::arg("item_ids"), py::arg("actions_by_code"), py::arg("without_actions"),
      py::arg("config"), py::arg("query_offsets") = py::none(), py::arg("query_ids") = py::none(),
      py::arg("query_rows") = py::none(),
      "Interaction token lists of the event ranges [begin, end) of a store: dict of "
      "session_offsets, token_offsets, ids, items, events (text/interaction_tokens.h).");
  m.def(
      "item_interaction_lists",
      [](const Array<int64_t>& item_offsets, const Array<int32_t>& item_ids,
         const Array<int32_t>& indices, const InteractionConfig& config) {
        const TokenRows text =
            token_rows(item_offsets, item_ids, "item_interaction_lists: item text");
        if (indices.ndim() != 1) throw InputError("item_interaction_lists: indices must be 1-D");
        InteractionLists out;
        {
          py::gil_scoped_release release;
          out = item_interaction_lists(text, indices.data(), indices.size(), config);
        }
        return interaction_dict(std::move(out));
      },
      py::arg("item_offsets"), py::arg("item_ids"), py::arg("indices"), py::arg("config"),
      "Items as one-interaction sessions without action token (UBM's NIP candidates).");
}

}  // namespace

void bind_text(py::module_& m) {
  bind_interaction_tokens(m);
  m.def(
      "mask_tokens",
      [](const Array<int64_t>& offsets, const Array<int32_t>& ids, int64_t vocab_size,
         int32_t mask_id, float rate, float replace_mask, float replace_random, int64_t max_tokens,
         std::vector<int32_t> protected_ids, uint64_t seed, uint64_t step) {
        const int64_t B = offsets.size() - 1;
        if (offsets.ndim() != 1 || B < 1 || offsets.at(0) != 0 || offsets.at(B) != ids.size())
          throw InputError("mask_tokens: offsets must be 1-D, start at 0 and end at len(ids)");
        MaskingConfig c;
        c.rate = rate;
        c.replace_mask = replace_mask;
        c.replace_random = replace_random;
        c.mask_id = mask_id;
        c.vocab_size = vocab_size;
        c.max_tokens = max_tokens;
        c.protected_ids = std::move(protected_ids);
        MaskedTokens out;
        {
          py::gil_scoped_release release;
          out = mask_tokens(offsets.data(), ids.data(), B, c, seed, step);
        }
        py::dict d;
        d["offsets"] = to_numpy(std::move(out.offsets));
        d["ids"] = to_numpy(std::move(out.ids));
        d["rows"] = to_numpy(std::move(out.rows));
        d["labels"] = to_numpy(std::move(out.labels));
        return d;
      },
      py::kw_only(), py::arg("offsets"), py::arg("ids"), py::arg("vocab_size"), py::arg("mask_id"),
      py::arg("rate") = 0.15f, py::arg("replace_mask") = 0.8f, py::arg("replace_random") = 0.1f,
      py::arg("max_tokens") = 64, py::arg("protected_ids") = std::vector<int32_t>{},
      py::arg("seed") = 0, py::arg("step") = 0,
      "Masked-token selection and replacement (text/token_masking.h): dict of offsets, ids "
      "(truncated, replaced), rows (packed rows selected) and labels (their original IDs).");
  py::class_<Tokenizer, std::shared_ptr<Tokenizer>>(m, "Tokenizer")
      .def_static(
          "train",
          [](const py::iterable& texts, int64_t vocab_size, const std::string& model_type,
             double character_coverage, bool lowercase, std::vector<std::string> special_tokens,
             uint32_t seed, int64_t num_threads) {
            TextColumn column = to_text_column(texts, "texts");
            TokenizerConfig c{
                vocab_size, model_type, character_coverage, lowercase, std::move(special_tokens),
                seed,       num_threads};
            py::gil_scoped_release release;
            return std::make_shared<Tokenizer>(Tokenizer::train(column, c));
          },
          py::arg("texts"), py::arg("vocab_size") = 8000, py::arg("model_type") = "unigram",
          py::arg("character_coverage") = 0.9995, py::arg("lowercase") = true,
          py::arg("special_tokens") = std::vector<std::string>{}, py::arg("seed") = 0,
          py::arg("num_threads") = 1)
      .def_static("load",
                  [](const py::bytes& data) {
                    return std::make_shared<Tokenizer>(Tokenizer::load(std::string(data)));
                  })
      .def("serialized", [](const Tokenizer& t) { return py::bytes(t.serialized()); })
      .def_property_readonly("vocab_size", &Tokenizer::vocab_size)
      .def("piece", &Tokenizer::piece)
      .def("piece_id", &Tokenizer::piece_id)
      .def("encode", [](const Tokenizer& t, const std::string& text) { return t.encode(text); })
      .def("encode_all",
           [](const Tokenizer& t, const py::iterable& texts) {
             TextColumn column = to_text_column(texts, "texts");
             TokenCSR csr;
             {
               py::gil_scoped_release release;
               csr = t.encode_all(column);
             }
             return py::make_tuple(to_numpy(std::move(csr.offsets)), to_numpy(std::move(csr.ids)));
           })
      .def(py::pickle([](const Tokenizer& t) { return py::bytes(t.serialized()); },
                      [](const py::bytes& data) {
                        return std::make_shared<Tokenizer>(Tokenizer::load(std::string(data)));
                      }));

  m.def(
      "lsa_features",
      [](const Array<int64_t>& offsets, const Array<int32_t>& ids, int64_t vocab_size, int64_t dim,
         int64_t oversample, int64_t power_iterations, bool sublinear_tf, bool normalize,
         uint64_t seed) {
        TokenCSR tokens = to_tokens(offsets, ids);
        LSAConfig c{dim, oversample, power_iterations, sublinear_tf, normalize, seed};
        int64_t k = 0;
        std::vector<float> features;
        {
          py::gil_scoped_release release;
          features = lsa_features(tokens, vocab_size, c, &k);
        }
        py::array_t<float> out({tokens.rows(), k});
        std::copy(features.begin(), features.end(), out.mutable_data());
        return out;
      },
      py::arg("offsets"), py::arg("ids"), py::arg("vocab_size"), py::arg("dim") = 64,
      py::arg("oversample") = 10, py::arg("power_iterations") = 3, py::arg("sublinear_tf") = true,
      py::arg("normalize") = true, py::arg("seed") = 0);

  m.def(
      "average_word_vectors",
      [](const std::string& path, const py::iterable& texts) {
        TextColumn column = to_text_column(texts, "texts");
        AveragedWordVectors v;
        {
          py::gil_scoped_release release;
          v = average_word_vectors(path, column);
        }
        py::array_t<float> features({column.size(), v.dim});
        std::copy(v.features.begin(), v.features.end(), features.mutable_data());
        return py::make_tuple(features, to_numpy(std::move(v.covered)), v.vocabulary);
      },
      py::arg("path"), py::arg("texts"));
}

}  // namespace sessrec::bindings
