#include "sessrec/nn/gemm.h"

#include <string>

#include "sessrec/errors.h"
#include "sessrec/nn/tensor.h"

#ifdef SESSREC_HAVE_DNNL
#include <dnnl.h>
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

}  // namespace

bool sgemm_uses_dnnl() {
#ifdef SESSREC_HAVE_DNNL
  return true;
#else
  return false;
#endif
}

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
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
