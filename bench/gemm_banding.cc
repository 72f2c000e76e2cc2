// GEMM on the shapes of a SASRec training step (rows x cols x K), float32, 2 threads:
// Eigen's own parallel product, OpenBLAS with 2 and 1 threads, and row bands (one per OpenMP
// thread) of single-threaded OpenBLAS and of single-threaded Eigen (what nn::parallel_product
// does). Quoted in bench/RESULTS.md ("Neural findings"). Build and run:
//   g++ -O3 -march=native -fno-tree-slp-vectorize -fopenmp -I/usr/include/eigen3 \
//     bench/gemm_banding.cc -o /tmp/gemm_banding \
//     /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0 && OMP_NUM_THREADS=2 /tmp/gemm_banding
#include <Eigen/Dense>
#include <chrono>
#include <cstdio>
#include <omp.h>
using M = Eigen::Matrix<float, -1, -1, Eigen::RowMajor>;
extern "C" void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*, const float*, const int*, const float*, const int*, const float*, float*, const int*);
extern "C" void openblas_set_num_threads(int);
// Row-major C[m,n] = A[m,k] * B^T with B [n,k], through column-major sgemm.
static void blas_abt(const float* A, const float* B, float* C, int m, int n, int k, float beta) {
  // col-major view: C^T (n x m) = B (n x k) * A^T (k x m); B row-major [n,k] is col-major k x n -> transpose 'T'
  float one = 1;
  sgemm_("T", "N", &n, &m, &k, &one, B, &k, A, &k, &beta, C, &n);
}
template <class F> double t(F f, double flops) { f(); auto s = std::chrono::steady_clock::now(); int r=0; double el; do { f(); ++r; el = std::chrono::duration<double>(std::chrono::steady_clock::now()-s).count(); } while (el < 0.5); return flops*r/el/1e9; }
int main() {
  int shapes[][3] = {{12800,192,64},{12800,64,64},{12800,256,64},{12800,64,256},{12800,655,64},{6000,655,64},{64,64,12800},{256,64,12800}};
  for (auto& s : shapes) {
    int m=s[0], n=s[1], k=s[2];
    M A = M::Random(m,k), B = M::Random(n,k), C(m,n);
    double fl = 2.0*m*n*k;
    double e = t([&]{ C.noalias() = A * B.transpose(); }, fl);
    openblas_set_num_threads(2);
    double b2 = t([&]{ blas_abt(A.data(), B.data(), C.data(), m, n, k, 0); }, fl);
    openblas_set_num_threads(1);
    double b1 = t([&]{ blas_abt(A.data(), B.data(), C.data(), m, n, k, 0); }, fl);
    // split rows across omp threads, single-threaded blas
    double bo = t([&]{
      #pragma omp parallel
      { int nt = omp_get_num_threads(), id = omp_get_thread_num(); int r0 = (long)m*id/nt, r1=(long)m*(id+1)/nt;
        blas_abt(A.data()+ (long)r0*k, B.data(), C.data()+(long)r0*n, r1-r0, n, k, 0); }
    }, fl);
    double eo = t([&]{
      #pragma omp parallel
      { int nt = omp_get_num_threads(), id = omp_get_thread_num(); int r0 = (long)m*id/nt, r1=(long)m*(id+1)/nt;
        Eigen::Map<M> Cm(C.data()+(long)r0*n, r1-r0, n); Eigen::Map<const M> Am(A.data()+(long)r0*k, r1-r0, k);
        Cm.noalias() = Am * B.transpose(); }
    }, fl);
    printf("eigen-omp %6.1f ", eo);
    printf("%6d x %4d x %5d  eigen %6.1f  blas2 %6.1f  blas1 %6.1f  blas1-omp %6.1f GFLOP/s\n", m,n,k,e,b2,b1,bo);
  }
}
