// Bindings for cpp/sessrec/text: the sentencepiece tokenizer, LSA features, word vectors.
#include <pybind11/stl.h>

#include "numpy_convert.h"
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

}  // namespace

void bind_text(py::module_& m) {
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
