// Single-precision GEMM on row-major buffers: C [M, N] = alpha op(A) op(B) + beta C, op(X) = X
// or X^T. With oneDNN (SESSREC_HAVE_DNNL, the Debian libdnnl-dev package) it is dnnl_sgemm:
// JIT kernels for the machine's vector width, threaded by the same OpenMP runtime and thread
// count as the rest of the core, deterministic for a fixed thread count. On the linear layers'
// shapes of a transformer step ([5000, K] x [K, N], K = 64..1024) it ran 1.15-1.4x faster than
// Eigen's product on one core of an AVX-512 Intel Xeon (bench/gemm_precision.cc; the table is in
// bench/RESULTS.md, "Text encoder training vs PyTorch").
// Without oneDNN: Eigen (nn::parallel_product). Called inside a parallel region it runs on the
// calling thread.
#pragma once
#include <cstdint>
#include <string>

namespace sessrec::nn {

// lda/ldb/ldc: row strides of A, B, C as stored (A is [M, K] or, transposed, [K, M]).
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// As sgemm, but always in float32 whatever the matmul precision (attention's small per-head
// products, where bfloat16 conversions would cost more than they save).
void sgemm_float32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                   const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                   int64_t ldc);

// Whether sgemm goes through oneDNN in this build.
bool sgemm_uses_dnnl();

// The precision of sgemm's products, for the whole process (as torch's
// set_float32_matmul_precision): "float32" (the default: exact float32 products) or "bfloat16"
// (A and B rounded to bfloat16, products accumulated in float32; AMX tiles on CPUs that have
// them, 5-10x the float32 throughput there, bench/gemm_precision.cc). bfloat16 keeps 8 bits of
// mantissa, so results differ from float32 in the third significant digit: training losses
// follow the float32 ones closely but not to the last bits (bench/RESULTS.md). "bfloat16"
// needs oneDNN (InputError otherwise).
void set_matmul_precision(const std::string& precision);
std::string matmul_precision();

}  // namespace sessrec::nn
