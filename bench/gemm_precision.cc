// GEMM throughput on the linear layers' shapes of a transformer step ([rows, K] x [K, N]), one
// thread: Eigen (float32), oneDNN's dnnl_sgemm (float32, what nn::sgemm uses), oneDNN's matmul
// primitive in float32, and in bfloat16 inputs with float32 output (AMX tiles where the CPU has
// them). Quoted in bench/RESULTS.md ("Text encoder training vs PyTorch", findings). Build and run:
//   g++ -O3 -march=native -fopenmp -I/usr/include/eigen3 bench/gemm_precision.cc -ldnnl \
//     -o /tmp/gemm_precision && OMP_NUM_THREADS=1 /tmp/gemm_precision
#include <Eigen/Dense>
#include <chrono>
#include <cstdio>
#include <dnnl.hpp>
#include <omp.h>

using M = Eigen::Matrix<float, -1, -1, Eigen::RowMajor>;
using dnnl::memory;

template <typename F>
double gflops(int64_t m, int64_t k, int64_t n, F&& run) {
  run();  // warm-up (and primitive creation)
  const int reps = 10;
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) run();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return 2.0 * m * k * n * reps / s / 1e9;
}

dnnl::matmul matmul(const dnnl::engine& eng, int64_t m, int64_t k, int64_t n,
                    memory::data_type in) {
  memory::desc a({m, k}, in, memory::format_tag::ab), b({k, n}, in, memory::format_tag::ba),
      c({m, n}, memory::data_type::f32, memory::format_tag::ab);
  return dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, b, c), eng));
}

int main() {
  omp_set_num_threads(1);
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  const int64_t shapes[][3] = {{5000, 256, 768}, {5000, 256, 1024}, {5000, 1024, 256},
                               {5000, 256, 256}, {5000, 64, 192},   {5000, 64, 256}};
  std::printf("| rows x K x N | Eigen f32 | dnnl_sgemm f32 | matmul f32 | matmul bf16 -> f32 |\n");
  std::printf("|---|---|---|---|---|\n");
  for (const auto& s : shapes) {
    const int64_t m = s[0], k = s[1], n = s[2];
    M A = M::Random(m, k), W = M::Random(n, k), C(m, n);
    const double eigen = gflops(m, k, n, [&] { C.noalias() = A * W.transpose(); });
    const double sgemm = gflops(m, k, n, [&] {
      dnnl_sgemm('N', 'T', m, n, k, 1.f, A.data(), k, W.data(), k, 0.f, C.data(), n);
    });
    double per_type[2];
    const memory::data_type types[2] = {memory::data_type::f32, memory::data_type::bf16};
    for (int t = 0; t < 2; ++t) {
      auto mm = matmul(eng, m, k, n, types[t]);
      memory a({{m, k}, types[t], memory::format_tag::ab}, eng),
          b({{k, n}, types[t], memory::format_tag::ba}, eng),
          c({{m, n}, memory::data_type::f32, memory::format_tag::ab}, eng);
      per_type[t] = gflops(m, k, n, [&] {
        mm.execute(strm, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
        strm.wait();
      });
    }
    std::printf("| %ld x %ld x %ld | %.0f | %.0f | %.0f | %.0f |\n", long(m), long(k), long(n),
                eigen, sgemm, per_type[0], per_type[1]);
  }
}
