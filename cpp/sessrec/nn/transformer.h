// TransformerStack: a stack of transformer blocks over packed sequences (sequence b is rows
// offsets[b] .. offsets[b+1]-1 of a [N, dim] matrix, so padding costs nothing), causal or
// bidirectional, shared by SASRec (causal, over items) and the text encoder (bidirectional,
// over tokens).
//
// Block l, post-LN (BERT, RecBole's SASRec, torch's TransformerEncoderLayer by default):
//   x = LN1(x + Dropout(Attn(x)));  x = LN2(x + Dropout(FFN(x)))
// pre-LN (norm_first=True in torch):
//   x = x + Dropout(Attn(LN1(x)));  x = x + Dropout(FFN(LN2(x)))
// Attn: one [3*dim, dim] projection to q|k|v (heads are contiguous dim/heads columns of each, as
// torch's in_proj_weight), softmax(q k^T / sqrt(dim/heads)) v per head, then an output
// projection. FFN: Linear(dim, ffn_dim), GELU (erf) or ReLU, Linear(ffn_dim, dim).
// Parameters (in `prefix`+"<l>."): attn.qkv.weight [3D, D], attn.qkv.bias [1, 3D],
// attn.out.weight [D, D], attn.out.bias, ln1.weight, ln1.bias, ffn.w1.weight [F, D], ffn.w1.bias,
// ffn.w2.weight [D, F], ffn.w2.bias, ln2.weight, ln2.bias. Weights ~ N(0, 0.02), LN weights 1.
#pragma once
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "sessrec/nn/parameter.h"

namespace sessrec::nn {

struct TransformerConfig {
  int64_t layers = 2, dim = 64, heads = 2, ffn_dim = 256;
  bool post_ln = true;
  bool gelu = true;  // FFN activation: GELU, or ReLU
  bool causal = false;
  float dropout = 0.1f;
  float ln_eps = 1e-5f;

  void validate(const std::string& who) const;
};

class TransformerStack {
 public:
  // Adds the parameters to `params` under `prefix` and initialises them from `rng`.
  TransformerStack(TransformerConfig config, ParameterSet& params, const std::string& prefix,
                   std::mt19937_64& rng);

  // x [N, dim] -> the last block's output [N, dim] (valid until the next forward). `key` gives
  // the dropout key of each dropout site in order (two per block).
  const float* forward(const float* x, const int64_t* offsets, int64_t B, bool training,
                       const std::function<uint64_t()>& key);
  // dout [N, dim], the gradient of forward's output -> din [N, dim] (overwritten); parameter
  // gradients accumulate.
  void backward(const float* dout, float* din);
  // Block l's output of the last forward (l = layers - 1: forward's result).
  const float* layer_output(int64_t l) const;
  // Adds d loss / d (block l's output) [N, dim] to the gradient that backward propagates (a
  // loss on an intermediate layer's outputs); cleared by backward.
  void add_layer_gradient(int64_t l, const float* grad);
  const TransformerConfig& config() const { return config_; }

 private:
  struct Block {
    Parameter *W_qkv, *b_qkv, *W_o, *b_o, *ln1_g, *ln1_b, *W1, *b1, *W2, *b2, *ln2_g, *ln2_b;
    // Activations of the last forward pass. in_ptr: the block's input (block 0: its copy `in`;
    // later blocks: the previous block's output).
    const float* in_ptr = nullptr;
    FloatBuffer in, h1, qkv, att, a, ao, mask_a, r1, mean1, rstd1, x1, h2, mean2, rstd2, f1, g, f2,
        mask_f, r2, out;
    FloatBuffer extra_grad;  // add_layer_gradient
  };
  TransformerConfig config_;
  std::vector<Block> blocks_;
  std::vector<int64_t> offsets_;
  int64_t B_ = 0, N_ = 0;
  bool dropout_on_ = false;  // whether the last forward applied dropout masks
  FloatBuffer dx_, ws_[5];  // backward workspaces, kept across steps
};

}  // namespace sessrec::nn
