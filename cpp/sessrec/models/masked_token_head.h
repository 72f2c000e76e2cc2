// MaskedTokenHead: BERT's masked-token prediction over an encoder's token outputs z, with the
// decoder tied to the encoder's token embedding E:
//   h = LN(GELU(W z + b)),  logits = h E^T + c,  loss = mean over the selected rows of
//   -log softmax(logits)[original token]   (a full softmax over the vocabulary, chunked).
// The selected rows and their labels come from text/token_masking.h. Its parameters join the
// encoder's set (so one optimizer step, one checkpoint and the parameter groups cover both):
//   mlm.transform.weight [dim, dim], mlm.transform.bias, mlm.ln.weight, mlm.ln.bias,
//   mlm.decoder.bias [1, vocab].
#pragma once
#include <cstdint>
#include <random>

#include "sessrec/nn/parameter.h"

namespace sessrec {

class MaskedTokenHead {
 public:
  MaskedTokenHead(int64_t dim, int64_t vocab_size, float ln_eps, nn::ParameterSet& params,
                  std::mt19937_64& rng);

  // tokens [N, dim]; rows [M] (< N) and labels [M] (< vocab). Returns the loss; with dtokens
  // (nullable), writes d loss / d tokens there ([N, dim], zero at rows not selected) and
  // accumulates the head's gradients and the decoder's into `embedding` ([vocab, dim]).
  float forward_backward(const float* tokens, int64_t N, const int64_t* rows, const int32_t* labels,
                         int64_t M, nn::Parameter& embedding, float* dtokens);

 private:
  int64_t D_, V_;
  float eps_;
  nn::Parameter *W_, *b_, *ln_g_, *ln_b_, *bias_;
  nn::FloatBuffer z_, a_, g_, h_, mean_, rstd_, hx_, ex_, dhx_, dex_, dh_, dg_, da_, dz_;
};

}  // namespace sessrec
