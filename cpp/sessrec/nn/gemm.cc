#include "sessrec/nn/gemm.h"

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "sessrec/errors.h"
#include "sessrec/nn/tensor.h"

#ifdef SESSREC_HAVE_DNNL
#include <dnnl.hpp>
#endif

namespace sessrec::nn {

namespace {

using Strided = Eigen::Map<const MatrixRM<float>, 0, Eigen::OuterStride<>>;
using StridedMut = Eigen::Map<MatrixRM<float>, 0, Eigen::OuterStride<>>;

void eigen_sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                 const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                 int64_t ldc) {
  StridedMut Cm(C, M, N, Eigen::OuterStride<>(ldc));
  if (beta == 0.0f)
    Cm.setZero();
  else if (beta != 1.0f)
    Cm *= beta;
  const Strided Am(A, trans_a ? K : M, trans_a ? M : K, Eigen::OuterStride<>(lda));
  const Strided Bm(B, trans_b ? N : K, trans_b ? K : N, Eigen::OuterStride<>(ldb));
  auto run = [&](const auto& a, const auto& b) {
    if (alpha == 1.0f)
      parallel_product(Cm, a, b, true);
    else
      parallel_product(Cm, a * alpha, b, true);
  };
  if (trans_a && trans_b)
    run(Am.transpose(), Bm.transpose());
  else if (trans_a)
    run(Am.transpose(), Bm);
  else if (trans_b)
    run(Am, Bm.transpose());
  else
    run(Am, Bm);
}

std::atomic<bool> use_bfloat16{false};

#ifdef SESSREC_HAVE_DNNL
// float32 -> bfloat16, round to nearest even (NaN kept a quiet NaN), rows x cols of a row-major
// buffer with row stride ld, into a buffer of the same layout.
void to_bfloat16(uint16_t* out, const float* in, int64_t rows, int64_t cols, int64_t ld) {
#pragma omp parallel for schedule(static) if (rows * cols > 65536)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      uint32_t bits;
      std::memcpy(&bits, in + r * ld + c, sizeof bits);
      const bool nan = (bits & 0x7FFFFFFFu) > 0x7F800000u;
      bits = nan ? (bits | 0x00400000u) : bits + 0x7FFFu + ((bits >> 16) & 1u);
      out[r * ld + c] = static_cast<uint16_t>(bits >> 16);
    }
}

// op(A) [M, K] x op(B) [K, N] in bfloat16 with float32 output and accumulation, through a oneDNN
// matmul (its primitive cache makes building one per call cheap); strides express transposes.
void bfloat16_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                   const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                   int64_t ldc) {
  using dnnl::memory;
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  thread_local std::vector<uint16_t> a16, b16;
  const int64_t a_rows = trans_a ? K : M, a_cols = trans_a ? M : K;
  const int64_t b_rows = trans_b ? N : K, b_cols = trans_b ? K : N;
  a16.resize(a_rows * lda);
  b16.resize(b_rows * ldb);
  to_bfloat16(a16.data(), A, a_rows, a_cols, lda);
  to_bfloat16(b16.data(), B, b_rows, b_cols, ldb);
  const memory::desc a_md({M, K}, memory::data_type::bf16,
                          trans_a ? memory::dims{1, lda} : memory::dims{lda, 1});
  const memory::desc b_md({K, N}, memory::data_type::bf16,
                          trans_b ? memory::dims{1, ldb} : memory::dims{ldb, 1});
  const memory::desc c_md({M, N}, memory::data_type::f32, memory::dims{ldc, 1});
  dnnl::primitive_attr attr;
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  if (beta != 0.0f) {
    dnnl::post_ops ops;
    ops.append_sum(beta);
    attr.set_post_ops(ops);
  }
  const dnnl::matmul matmul(
      dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, c_md), attr, engine));
  thread_local dnnl::stream stream(engine);
  memory a(a_md, engine, a16.data()), b(b_md, engine, b16.data()), c(c_md, engine, C);
  matmul.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
  stream.wait();
}
#endif

}  // namespace

void set_matmul_precision(const std::string& precision) {
  if (precision == "float32") {
    use_bfloat16 = false;
  } else if (precision == "bfloat16") {
    if (!sgemm_uses_dnnl())
      throw InputError("matmul precision bfloat16 needs sessrec built with oneDNN (libdnnl-dev)");
    use_bfloat16 = true;
  } else {
    throw InputError("matmul precision must be 'float32' or 'bfloat16', got '" + precision + "'");
  }
}

std::string matmul_precision() { return use_bfloat16 ? "bfloat16" : "float32"; }

bool sgemm_uses_dnnl() {
#ifdef SESSREC_HAVE_DNNL
  return true;
#else
  return false;
#endif
}

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
#ifdef SESSREC_HAVE_DNNL
  if (use_bfloat16 && M > 0 && N > 0 && K > 0) {
    try {
      bfloat16_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    } catch (const dnnl::error& e) {
      throw InputError(std::string("sgemm (bfloat16): oneDNN refused the product: ") + e.what());
    }
    return;
  }
#endif
  sgemm_float32(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemm_float32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                   const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                   int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    eigen_sgemm(trans_a, trans_b, M, N, 0, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
#ifdef SESSREC_HAVE_DNNL
  const dnnl_status_t status = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha,
                                          A, lda, B, ldb, beta, C, ldc);
  if (status != dnnl_success)
    throw InputError("sgemm: oneDNN refused a [" + std::to_string(M) + ", " + std::to_string(K) +
                     "] x [" + std::to_string(K) + ", " + std::to_string(N) + "] product (status " +
                     std::to_string(int(status)) + ")");
#else
  eigen_sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

}  // namespace sessrec::nn
