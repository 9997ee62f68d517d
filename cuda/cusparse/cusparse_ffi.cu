// XLA FFI handlers calling cuSPARSE: jsdl_cusparse_spmm (CSR x row-major dense
// at a chosen algorithm) and jsdl_cusparse_sddmm (CSR output pattern). They are
// benchmark contenders, so each call does what a JAX user of cuSPARSE gets:
// descriptors, bufferSize and a scratch workspace per call, then the operation.
// cusparse*_preprocess is optional for every algorithm used here (it only pays
// off when a kept buffer is reused, which a stateless FFI call cannot do), so
// it is not called. See docs/architecture.md, "cuSPARSE binding".
#include <cuda_runtime_api.h>
#include <cusparse.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "../common/cuda_check.h"
#include "../common/ffi_checks.h"
#include "cusparse_handlers.h"
#include "xla/ffi/api/ffi.h"

namespace jsdl {
namespace {

ffi::Error CusparseError(cusparseStatus_t status, const char* what) {
  return ffi::Error::Internal(std::string(what) + ": " +
                              cusparseGetErrorName(status) + " (" +
                              cusparseGetErrorString(status) + ")");
}

#define JSDL_CUSPARSE_CHECK(expr)                                         \
  do {                                                                    \
    cusparseStatus_t jsdl_status_ = (expr);                               \
    if (jsdl_status_ != CUSPARSE_STATUS_SUCCESS)                          \
      return ::jsdl::CusparseError(jsdl_status_, "cuSPARSE call " #expr); \
  } while (0)

// Descriptors are destroyed on every path, errors included.
struct SpMat {
  cusparseSpMatDescr_t d = nullptr;
  ~SpMat() { if (d) cusparseDestroySpMat(d); }
};
struct ConstSpMat {
  cusparseConstSpMatDescr_t d = nullptr;
  ~ConstSpMat() { if (d) cusparseDestroySpMat(d); }
};
struct DnMat {
  cusparseDnMatDescr_t d = nullptr;
  ~DnMat() { if (d) cusparseDestroyDnMat(d); }
};
struct ConstDnMat {
  cusparseConstDnMatDescr_t d = nullptr;
  ~ConstDnMat() { if (d) cusparseDestroyDnMat(d); }
};

// One handle per device, created on first use and never destroyed (at process
// exit the CUDA driver may already be gone).
struct DeviceHandle {
  std::mutex mu;
  cusparseHandle_t handle = nullptr;
};

// The current device's handle bound to `stream`. `lock` holds the handle's
// mutex until the caller returns: cusparseSetStream changes shared state, so
// two threads must not interleave calls on one handle.
ffi::Error AcquireHandle(cudaStream_t stream, std::unique_lock<std::mutex>& lock,
                         cusparseHandle_t& handle) {
  int device = 0;
  JSDL_CUDA_CHECK(cudaGetDevice(&device));
  static std::mutex registry_mu;
  static auto* registry =
      new std::unordered_map<int, std::unique_ptr<DeviceHandle>>();  // leaked
  DeviceHandle* slot = nullptr;
  {
    std::lock_guard<std::mutex> guard(registry_mu);
    std::unique_ptr<DeviceHandle>& entry = (*registry)[device];
    if (!entry) entry = std::make_unique<DeviceHandle>();
    slot = entry.get();
  }
  lock = std::unique_lock<std::mutex>(slot->mu);
  if (slot->handle == nullptr) {
    cusparseHandle_t created = nullptr;
    JSDL_CUSPARSE_CHECK(cusparseCreate(&created));
    slot->handle = created;
  }
  JSDL_CUSPARSE_CHECK(cusparseSetStream(slot->handle, stream));
  handle = slot->handle;
  return ffi::Error::Success();
}

// The workspace is a second output that the Python wrapper sizes generously
// (cusparse.workspace_bytes): XLA's FFI scratch allocator refused every request
// on jax 0.11.2 (H200 run, docs/gpu-runs.md), and an output costs no call of
// its own. Too small a buffer is an error naming the size needed.
ffi::Error CheckWorkspace(const char* op, const ffi::AnyBuffer& workspace,
                          size_t bytes) {
  if (workspace.size_bytes() < bytes)
    return ffi::Error(ffi::ErrorCode::kResourceExhausted,
                      std::string(op) + ": cuSPARSE needs " + std::to_string(bytes) +
                          " bytes of workspace, the wrapper gave " +
                          std::to_string(workspace.size_bytes()));
  return ffi::Error::Success();
}

ffi::Error ZeroOutput(cudaStream_t stream, ffi::AnyBuffer& out) {
  if (out.size_bytes() > 0)
    JSDL_CUDA_CHECK(cudaMemsetAsync(out.untyped_data(), 0, out.size_bytes(), stream));
  return ffi::Error::Success();
}

// ----------------------------------------------------------------------- SpMM

constexpr const char* kSpmm = "jsdl_cusparse_spmm";

ffi::Error SpmmAlgorithm(int32_t alg, cusparseSpMMAlg_t* algorithm) {
  switch (alg) {
    case 0: *algorithm = CUSPARSE_SPMM_ALG_DEFAULT; break;
    case 1: *algorithm = CUSPARSE_SPMM_CSR_ALG1; break;
    case 2: *algorithm = CUSPARSE_SPMM_CSR_ALG2; break;
    case 3: *algorithm = CUSPARSE_SPMM_CSR_ALG3; break;
    default:
      return ffi::Error::InvalidArgument(
          std::string(kSpmm) + ": alg = " + std::to_string(alg) +
          ", expected 0 (default), 1 (CSR_ALG1), 2 (CSR_ALG2) or 3 (CSR_ALG3)");
  }
  return ffi::Error::Success();
}

// cuSPARSE computes 16-bit CSR SpMM (float32 compute) only with CSR_ALG3, which
// ALG_DEFAULT selects for mixed precision; ALG1/ALG2 would fail inside it.
ffi::Error SpmmValueType(ffi::DataType dtype, int32_t alg, cudaDataType* type) {
  switch (dtype) {
    case ffi::DataType::F32: *type = CUDA_R_32F; return ffi::Error::Success();
    case ffi::DataType::BF16: *type = CUDA_R_16BF; break;
    case ffi::DataType::F16: *type = CUDA_R_16F; break;
    default:
      return ffi::Error::InvalidArgument(
          std::string(kSpmm) + ": out has dtype " + DataTypeName(dtype) +
          ", expected float32, bfloat16 or float16");
  }
  if (alg == 1 || alg == 2)
    return ffi::Error::InvalidArgument(
        std::string(kSpmm) + ": cuSPARSE supports " + DataTypeName(dtype) +
        " SpMM only with CSR_ALG3 or the default algorithm, not CSR_ALG" +
        std::to_string(alg));
  return ffi::Error::Success();
}

ffi::Error SpmmImpl(cudaStream_t stream, ffi::AnyBuffer values,
                    ffi::AnyBuffer row_offsets, ffi::AnyBuffer column_indices,
                    ffi::AnyBuffer dense, ffi::Result<ffi::AnyBuffer> out,
                    ffi::Result<ffi::AnyBuffer> workspace, int32_t alg) {
  cusparseSpMMAlg_t algorithm;
  JSDL_RETURN_IF_ERROR(SpmmAlgorithm(alg, &algorithm));
  JSDL_RETURN_IF_ERROR(CheckRank(kSpmm, "out", *out, 2, "(m, n)"));
  JSDL_RETURN_IF_ERROR(CheckRank(kSpmm, "values", values, 1, "(nnz,)"));
  JSDL_RETURN_IF_ERROR(CheckRank(kSpmm, "dense", dense, 2, "(k, n) row-major"));
  const ffi::DataType dtype = out->element_type();
  cudaDataType value_type;
  JSDL_RETURN_IF_ERROR(SpmmValueType(dtype, alg, &value_type));
  JSDL_RETURN_IF_ERROR(CheckDtype(kSpmm, "values", values, dtype));
  JSDL_RETURN_IF_ERROR(CheckDtype(kSpmm, "dense", dense, dtype));
  const int64_t m = out->dimensions()[0];
  const int64_t n = out->dimensions()[1];
  const int64_t k = dense.dimensions()[0];
  const int64_t nnz = values.dimensions()[0];
  if (dense.dimensions()[1] != n)
    return ShapeError(kSpmm, "dense", dense,
                      "last dim n = " + std::to_string(n) + " (from out)");
  JSDL_RETURN_IF_ERROR(CheckIndexArray(kSpmm, "row_offsets", row_offsets, m + 1));
  JSDL_RETURN_IF_ERROR(CheckIndexArray(kSpmm, "column_indices", column_indices, nnz));
  JSDL_RETURN_IF_ERROR(CheckInt32Range(kSpmm, "m", m));
  JSDL_RETURN_IF_ERROR(CheckInt32Range(kSpmm, "nnz", nnz));
  if (m == 0 || n == 0) return ffi::Error::Success();
  if (nnz == 0 || k == 0) return ZeroOutput(stream, *out);

  std::unique_lock<std::mutex> lock;
  cusparseHandle_t handle = nullptr;
  JSDL_RETURN_IF_ERROR(AcquireHandle(stream, lock, handle));
  ConstSpMat a;
  ConstDnMat b;
  DnMat c;
  JSDL_CUSPARSE_CHECK(cusparseCreateConstCsr(
      &a.d, m, k, nnz, row_offsets.untyped_data(), column_indices.untyped_data(),
      values.untyped_data(), CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I,
      CUSPARSE_INDEX_BASE_ZERO, value_type));
  JSDL_CUSPARSE_CHECK(cusparseCreateConstDnMat(&b.d, k, n, /*ld=*/n, dense.untyped_data(),
                                               value_type, CUSPARSE_ORDER_ROW));
  JSDL_CUSPARSE_CHECK(cusparseCreateDnMat(&c.d, m, n, /*ld=*/n, out->untyped_data(),
                                          value_type, CUSPARSE_ORDER_ROW));
  // Host scalars (the handle's default pointer mode) of the float32 compute
  // type. beta = 0: the uninitialised output is overwritten, as in jaxlib's own
  // cuSPARSE SpMM call.
  const float alpha = 1.0f, beta = 0.0f;
  const cusparseOperation_t op = CUSPARSE_OPERATION_NON_TRANSPOSE;
  size_t bytes = 0;
  JSDL_CUSPARSE_CHECK(cusparseSpMM_bufferSize(handle, op, op, &alpha, a.d, b.d, &beta,
                                              c.d, CUDA_R_32F, algorithm, &bytes));
  JSDL_RETURN_IF_ERROR(CheckWorkspace(kSpmm, *workspace, bytes));
  JSDL_CUSPARSE_CHECK(cusparseSpMM(handle, op, op, &alpha, a.d, b.d, &beta, c.d,
                                   CUDA_R_32F, algorithm, workspace->untyped_data()));
  return ffi::Error::Success();
}

// ---------------------------------------------------------------------- SDDMM

constexpr const char* kSddmm = "jsdl_cusparse_sddmm";

ffi::Error CheckF32(const char* name, const ffi::AnyBuffer& buf) {
  if (buf.element_type() != ffi::DataType::F32)
    return ffi::Error::InvalidArgument(std::string(kSddmm) + ": " + name +
                                       " has dtype " + DataTypeName(buf.element_type()) +
                                       ", expected float32");
  return ffi::Error::Success();
}

ffi::Error SddmmImpl(cudaStream_t stream, ffi::AnyBuffer lhs, ffi::AnyBuffer rhs,
                     ffi::AnyBuffer row_offsets, ffi::AnyBuffer column_indices,
                     ffi::Result<ffi::AnyBuffer> out,
                     ffi::Result<ffi::AnyBuffer> workspace) {
  JSDL_RETURN_IF_ERROR(CheckRank(kSddmm, "lhs", lhs, 2, "(m, d) row-major"));
  JSDL_RETURN_IF_ERROR(CheckRank(kSddmm, "rhs", rhs, 2, "(n, d) row-major"));
  JSDL_RETURN_IF_ERROR(CheckRank(kSddmm, "out", *out, 1, "(nnz,)"));
  JSDL_RETURN_IF_ERROR(CheckF32("lhs", lhs));
  JSDL_RETURN_IF_ERROR(CheckF32("rhs", rhs));
  JSDL_RETURN_IF_ERROR(CheckF32("out", *out));
  const int64_t m = lhs.dimensions()[0];
  const int64_t d = lhs.dimensions()[1];
  const int64_t n = rhs.dimensions()[0];
  const int64_t nnz = out->dimensions()[0];
  if (rhs.dimensions()[1] != d)
    return ShapeError(kSddmm, "rhs", rhs,
                      "last dim d = " + std::to_string(d) + " (from lhs)");
  JSDL_RETURN_IF_ERROR(CheckIndexArray(kSddmm, "row_offsets", row_offsets, m + 1));
  JSDL_RETURN_IF_ERROR(CheckIndexArray(kSddmm, "column_indices", column_indices, nnz));
  JSDL_RETURN_IF_ERROR(CheckInt32Range(kSddmm, "m", m));
  JSDL_RETURN_IF_ERROR(CheckInt32Range(kSddmm, "nnz", nnz));
  if (nnz == 0) return ffi::Error::Success();
  if (d == 0 || m == 0 || n == 0) return ZeroOutput(stream, *out);

  std::unique_lock<std::mutex> lock;
  cusparseHandle_t handle = nullptr;
  JSDL_RETURN_IF_ERROR(AcquireHandle(stream, lock, handle));
  ConstDnMat a;
  ConstDnMat b;
  SpMat c;
  JSDL_CUSPARSE_CHECK(cusparseCreateConstDnMat(&a.d, m, d, /*ld=*/d, lhs.untyped_data(),
                                               CUDA_R_32F, CUSPARSE_ORDER_ROW));
  // rhs (n, d) row-major is rhs^T (d, n) column-major: no transpose operation
  // needed (the layout torch's sampled_addmm passes for q @ k.T).
  JSDL_CUSPARSE_CHECK(cusparseCreateConstDnMat(&b.d, d, n, /*ld=*/d, rhs.untyped_data(),
                                               CUDA_R_32F, CUSPARSE_ORDER_COL));
  JSDL_CUSPARSE_CHECK(cusparseCreateCsr(
      &c.d, m, n, nnz, row_offsets.untyped_data(), column_indices.untyped_data(),
      out->untyped_data(), CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I,
      CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
  const float alpha = 1.0f, beta = 0.0f;  // beta = 0: out is not read
  const cusparseOperation_t op = CUSPARSE_OPERATION_NON_TRANSPOSE;
  size_t bytes = 0;
  JSDL_CUSPARSE_CHECK(cusparseSDDMM_bufferSize(handle, op, op, &alpha, a.d, b.d, &beta,
                                               c.d, CUDA_R_32F,
                                               CUSPARSE_SDDMM_ALG_DEFAULT, &bytes));
  JSDL_RETURN_IF_ERROR(CheckWorkspace(kSddmm, *workspace, bytes));
  JSDL_CUSPARSE_CHECK(cusparseSDDMM(handle, op, op, &alpha, a.d, b.d, &beta, c.d,
                                    CUDA_R_32F, CUSPARSE_SDDMM_ALG_DEFAULT,
                                    workspace->untyped_data()));
  return ffi::Error::Success();
}

}  // namespace
}  // namespace jsdl

// Not declared command-buffer compatible (unlike the package's own kernels):
// the first call on a device creates the cuSPARSE handle, and cuSPARSE makes no
// promise that its calls are capturable. XLA runs them outside CUDA graphs.
XLA_FFI_DEFINE_HANDLER_SYMBOL(JsdlCusparseSpmmFfi, jsdl::SpmmImpl,
                              xla::ffi::Ffi::Bind()
                                  .Ctx<xla::ffi::PlatformStream<cudaStream_t>>()
                                  .Arg<xla::ffi::AnyBuffer>()  // values
                                  .Arg<xla::ffi::AnyBuffer>()  // row_offsets
                                  .Arg<xla::ffi::AnyBuffer>()  // column_indices
                                  .Arg<xla::ffi::AnyBuffer>()  // dense
                                  .Ret<xla::ffi::AnyBuffer>()  // out
                                  .Ret<xla::ffi::AnyBuffer>()  // workspace
                                  .Attr<int32_t>("alg"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(JsdlCusparseSddmmFfi, jsdl::SddmmImpl,
                              xla::ffi::Ffi::Bind()
                                  .Ctx<xla::ffi::PlatformStream<cudaStream_t>>()
                                  .Arg<xla::ffi::AnyBuffer>()  // lhs
                                  .Arg<xla::ffi::AnyBuffer>()  // rhs
                                  .Arg<xla::ffi::AnyBuffer>()  // row_offsets
                                  .Arg<xla::ffi::AnyBuffer>()  // column_indices
                                  .Ret<xla::ffi::AnyBuffer>()  // out
                                  .Ret<xla::ffi::AnyBuffer>());  // workspace
