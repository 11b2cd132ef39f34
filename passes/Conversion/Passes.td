//===- Passes.td - Nova conversion passes ------------------*- tablegen -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_CONVERSION_PASSES_TD
#define NOVA_PASSES_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// CollectivesToMpi
//===----------------------------------------------------------------------===//

def CollectivesToMpiPass
    : Pass<"nova-collectives-to-mpi", "::mlir::ModuleOp"> {
  let summary = "Lower Nova's SPMD collectives on buffers to MPI calls";
  let description = [{
    Rewrites the buffer form of the collectives into calls of the MPI C API,
    MPICH ABI (i32 handles: MPI_Comm, MPI_Datatype, MPI_Op; docs/abi.md),
    declared as `llvm.func`s:

        nova.all_reduce x, c into y
          -> MPI_Allreduce(&x == &y ? MPI_IN_PLACE : &x, &y, |x|,
                           datatype(x), MPI_SUM, c)
             (f32 MPI_FLOAT, f64 MPI_DOUBLE, iN MPI_INTn_T)
        nova.all_gather x, c dim d into y   (y = n shards of x along d)
          -> MPI_Allgather(&x, bytes(x), MPI_BYTE, &y, bytes(x), MPI_BYTE, c)
             when every dimension before d has extent 1 (the shards are
             then contiguous in y); otherwise into a temporary t[n, x...]
             followed by y[..., r*|x_d| + i, ...] = t[r, ..., i, ...]
        nova.group_comm w over axes
          -> w                                   when isWholeMesh()
          -> MPI_Comm_split(w, color, key, &c)   otherwise: color = the
             device's linear index over the other axes, key = its shard
             index over `axes` (both row-major, from MPI_Comm_rank(w))
        nova.comm_free c
          -> MPI_Comm_free(&c), nothing for a whole-mesh group_comm
        nova.shard_index w over axes
          -> MPI_Comm_rank(w), then div/mod by the mesh's extents

    Every call's return code is checked: on failure the program calls
    MPI_Abort(comm, code). group_comm and shard_index also check that the
    world communicator has as many ranks as the mesh has devices
    (MPI_Abort(w, MPI_ERR_TOPOLOGY) otherwise). A buffer that is not
    contiguous row-major is staged through a temporary with `linalg.copy`.
    MLIR 22's own `mpi` dialect lowering lacks all-gather, comm_free and
    return-code checks (TOOLCHAIN.md §7), which is why this pass emits the
    calls itself.

    After lowering, any nova collective, `nova.shard`, `shard.*` or `mpi.*`
    op left in the module is an error naming it and its location: upstream
    lowerings leave what they cannot convert and still succeed.

    Preconditions: bufferized (run one-shot-bufferize, then this pass before
    `convert-linalg-to-loops` and `finalize-memref-to-llvm`); the `nova.mesh`
    ops the collectives name are still in the module; every nova.comm_free
    frees a nova.group_comm result.
  }];
  let dependentDialects = [
    "::mlir::LLVM::LLVMDialect", "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect"
  ];
}

//===----------------------------------------------------------------------===//
// ConvertNovaToLinalg
//===----------------------------------------------------------------------===//

def ConvertNovaToLinalgPass : Pass<"convert-nova-to-linalg"> {
  let summary = "Lower Nova ops to linalg, tensor, arith, math and scf";
  let description = [{
    Rewrites every Nova compute op into upstream ops on tensors, keeping the
    numerics of its description (docs/dialect/NovaDialect.md):

        nova.qmatmul(x, q, s)   -> linalg.generic over (..., n, k) whose body
                                   dequantizes q[k, n] * s[block(k), n] to the
                                   scale type and accumulates x * w in f32;
                                   no dequantized weight tensor exists
        nova.expert_qmatmul     -> the same with the expert's weight gathered
                                   in the body (only selected experts read;
                                   slots of expert -1 not computed)
        nova.moe_route          -> one loop over tokens: f32 softmax and top-k
                                   selection (or the forced experts) in a
                                   single pass each; masked tokens skipped
        nova.attention          -> online softmax over the KV cache per
                                   (batch, query, head), no score matrix
        nova.sample             -> temperature/mask/max, a radix threshold
                                   search for top-p (no sort), Philox noise
                                   and the Gumbel argmax, probabilities and
                                   the top-k in a few passes over V
        nova.top_p_filter       -> the same top-p search, one pass writing
                                   the filtered logits
        elementwise / norms     -> linalg.generic chains

    The schedule (column tiles, which loops run on threads) is a function
    of the options alone, whose defaults are fixed: the same IR and options
    give the same code on any machine.

    The SPMD collectives (`nova.all_reduce`, `nova.all_gather`,
    `nova.group_comm`, `nova.comm_free`, `nova.shard_index`) are left as they
    are: they bufferize themselves and `nova-collectives-to-mpi` lowers them.

    Preconditions: parameters are function arguments (run
    `nova-params-to-args` first); `nova.shard` annotations are dropped.
  }];
  let options = [
    Option<"parallelTiles", "parallel-tiles", "int64_t", /*default=*/"2",
           "Column tiles a large contraction is split into across threads "
           "(at least 1). Fixed, never the compiling machine's core count, "
           "so that the same IR gives the same code anywhere. One wide tile "
           "per thread streams the longest runs of each weight row (on 2 "
           "cores a decode matmul ran about 2x slower with 8 tiles than "
           "with 2): pass the target's thread count">,
    Option<"parallelWork", "parallel-work", "int64_t", /*default=*/"262144",
           "Multiply-adds (M * N * K) below which a contraction stays on one "
           "thread: a parallel region costs a few microseconds to open">,
    Option<"parallelSampleWork", "parallel-sample-work", "int64_t",
           /*default=*/"32768",
           "Logits (batch * V) below which nova.sample stays on one thread">,
    Option<"bf16Dot", "bf16-dot", "bool", /*default=*/"false",
           "Give multi-row nova.qmatmuls of bf16 x and bf16 scales the "
           "paired-row schedule, taken at run time where the CPU tier has "
           "a bf16 dot product and no value can be subnormal "
           "(docs/performance.md); it calls the functions "
           "nova-declare-cpu-tier-functions declares, which must be in "
           "the module">
  ];
  let dependentDialects = [
    "::mlir::LLVM::LLVMDialect", "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

//===----------------------------------------------------------------------===//
// DeclareCpuTierFunctions
//===----------------------------------------------------------------------===//

def DeclareCpuTierFunctionsPass
    : Pass<"nova-declare-cpu-tier-functions", "::mlir::ModuleOp"> {
  let summary = "Declare the functions whose bodies depend on the CPU tier";
  let description = [{
    Adds private declarations of the functions in
    `passes/Conversion/CpuTierFunctions.h` (those not yet declared), for
    `convert-nova-to-linalg{bf16-dot=1}` to call. LLVM IR emission defines
    them for each CPU tier the code is compiled for, before optimization,
    and inlines them: `__nova_cpu_has_bf16_dot` is a constant per tier, and
    `__nova_cpu_dot_bf16_pairs` is `vdpbf16ps` on AVX512-BF16 and two fused
    multiply-adds per lane elsewhere.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::vector::VectorDialect"];
}

//===----------------------------------------------------------------------===//
// DistinctResults
//===----------------------------------------------------------------------===//

def DistinctResultsPass
    : Pass<"nova-distinct-results", "::mlir::func::FuncOp"> {
  let summary = "Give every returned tensor a buffer of its own";
  let description = [{
    For each `func.return`, a tensor operand `r` whose buffer the function
    does not allocate for that result alone is replaced by a copy into a
    new `bufferization.alloc_tensor`:

        r = argument, constant, or a reshape (collapse/expand/cast) of one
          -> bufferization.materialize_in_destination r in alloc_tensor
        r = a buffer an earlier operand of the return already uses
            (the same value twice, or a reshape of it)
          -> bufferization.materialize_in_destination r in alloc_tensor
        r = through a tensor.extract_slice (possibly strided)
          -> linalg.copy ins(r) outs(alloc_tensor)

    After bufferization every result is then an allocation of its own,
    which buffer-results-to-out-params{hoist-static-allocs} turns into the
    caller's output buffer: outputs never share one, and no copy needs the
    `memrefCopy` runtime function.

    Preconditions: parameters are function arguments (run
    `nova-params-to-args` first). Run it right before one-shot-bufferize:
    nothing in between may fold the copies away.
  }];
  let dependentDialects = [
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect"
  ];
}

//===----------------------------------------------------------------------===//
// ParamsToArgs
//===----------------------------------------------------------------------===//

def ParamsToArgsPass : Pass<"nova-params-to-args", "::mlir::ModuleOp"> {
  let summary = "Turn nova.param ops into function arguments";
  let description = [{
    For every entry function, the parameter arguments of its entry in the
    module's manifest (`nova.manifest`, derived first when the module has
    none: the distinct parameter paths it uses, sorted, `<path>` then
    `<path>.scales` for a quantized one) become trailing arguments, in that
    order, tagged `{nova.param = "<path>"}`; the nova.param ops are replaced
    by them. This is the compiled code's ABI: inputs, then parameters, then
    (after bufferization) the outputs, all caller-owned. An SPMD entry's
    communicator (the argument marked `nova.communicator`, an i32 MPICH
    `MPI_Comm`) is its last argument, right after the inputs: the
    parameters follow it, so the C signature is inputs, communicator,
    parameters, outputs, as the manifest records. Tensor inputs and
    parameters are marked `bufferization.writable = false`: compiled code
    never writes into the caller's buffers. A nova.param the manifest does
    not list, or whose type differs from it, and a communicator elsewhere
    than the manifest says are errors.
  }];
}

//===----------------------------------------------------------------------===//
// CheckCpuInput
//===----------------------------------------------------------------------===//

def CheckCpuInputPass : Pass<"nova-check-cpu-input", "::mlir::ModuleOp"> {
  let summary = "Refuse input the CPU code would trap or abort on";
  let description = [{
    Runs first in `nova-cpu-pipeline` and rejects, with an error at the op,
    what compiled code cannot run safely:

    * integer division and remainder (`arith.divsi`, `divui`, `remsi`,
      `remui`, `ceildivsi`, `ceildivui`, `floordivsi`) on integer tensors or
      scalars whose divisor is not a constant free of zeros (and, for the
      signed ops, of -1, whose quotient of the type's minimum does not fit).
      LLVM's `sdiv`/`udiv` are undefined there and x86 traps; the
      interpreter checks every element and reports the one that fails, so
      such a module runs on `--backend interp`;
    * constants of more than `max-constant-bytes` bytes (default 1 GiB):
      they would become LLVM globals of that size, which LLVM aborts on
      near 4 GiB, and a model's weights are parameters, not constants.

    Index arithmetic generated by later lowering is not affected.
  }];
  let options = [
    Option<"maxConstantBytes", "max-constant-bytes", "int64_t",
           /*default=*/"int64_t(1) << 30",
           "Largest constant (in bytes) compiled code may hold">
  ];
}

//===----------------------------------------------------------------------===//
// nova-gpu-map-loops
//===----------------------------------------------------------------------===//

def GpuMapLoopsPass : Pass<"nova-gpu-map-loops", "::mlir::func::FuncOp"> {
  let summary = "Tile each outermost scf.parallel onto GPU blocks and threads";
  let description = [{
    For every outermost `scf.parallel` of rank n (dimensions d0..dn-1, the
    last one contiguous in Nova's row-major buffers):

        tile d(n-1) by T threads (scf::tileParallelLoop, bounds checked by
        an scf.if), T = block-size, or the trip count rounded up to whole
        warps when it is static and smaller
        outer loop: d(n-1) tiles -> block x, the first two other dimensions
                    whose static trip count is <= 65535 -> block y, z,
                    any other dimension -> sequential
        inner loop: d(n-1) -> thread x, the others (extent 1) sequential
        deeper scf.parallel -> sequential (inside one thread)

    as `mapping` attributes for `convert-parallel-loops-to-gpu`. Adjacent
    threads of a block thus handle adjacent elements of the last dimension.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"128",
           "Threads per block (1..1024)">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::scf::SCFDialect"];
}

//===----------------------------------------------------------------------===//
// nova-gpu-exact-math
//===----------------------------------------------------------------------===//

def GpuExactMathPass
    : Pass<"nova-gpu-exact-math", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Correctly rounded sqrt and rsqrt in GPU kernels";
  let description = [{
    Runs on a `gpu.module` before `convert-gpu-to-nvvm`, for scalar f32
    and f64:

        math.sqrt x   -> llvm.call_intrinsic "llvm.nvvm.sqrt.rn.f|d"(x)
        math.rsqrt x  -> arith.divf 1.0, (the same sqrt)

    libdevice (what convert-gpu-to-nvvm calls) gives `rsqrt.approx.f32`
    for 1/sqrt, up to 2 ulp off; these are the correctly rounded results
    the CPU lowering computes (`llvm.sqrt` and `fdiv`), so rms_norm gives
    the same bits on both. Other types are left to libdevice.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::arith::ArithDialect"];
}

//===----------------------------------------------------------------------===//
// nova-gpu-host-memory
//===----------------------------------------------------------------------===//

def GpuHostMemoryPass
    : Pass<"nova-gpu-host-memory", "::mlir::func::FuncOp"> {
  let summary = "Allocate a function's host buffers where its kernels reach "
                "them";
  let description = [{
    Runs after `convert-parallel-loops-to-gpu`, on the host part of each
    function (everything outside its `gpu.launch` regions):

        memref.alloc      -> gpu.alloc host_shared   (managed memory)
        memref.dealloc    -> gpu.dealloc (async, on a stream waited on)
        memref.get_global -> gpu.alloc host_shared + memref.copy, freed
                             before each return   (only when a kernel
                             reads it; host reads keep the global)

    The host code between launches and the kernels then work on the same
    buffers; each launch completes before the host goes on. The function's
    arguments must be such memory too (docs/cuda.md: the caller allocates
    them with the runtime's `nova_cuda_alloc`).

    Inside a kernel, a fixed-size `memref.alloc` (per-thread scratch)
    becomes a `memref.alloca` at the top of the launch body and its
    deallocations go: kernels never use the device heap. A buffer of
    dynamic size inside a kernel is an error, and so is a host stack buffer
    (`memref.alloca`) that a kernel uses: the GPU cannot reach the host
    stack.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::memref::MemRefDialect"];
}

//===----------------------------------------------------------------------===//
// nova-merge-gpu-modules
//===----------------------------------------------------------------------===//

def MergeGpuModulesPass
    : Pass<"nova-merge-gpu-modules", "::mlir::ModuleOp"> {
  let summary = "Gather every outlined kernel into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` gives each kernel a `gpu.module` of its own.
    This pass moves them all into one module (default `@nova_kernels`):
    each kernel is renamed after the module it came from (unique in the
    parent), any helper symbol gets that name as a prefix, and every
    `gpu.launch_func` is redirected. The device code of a model is then one
    PTX/cubin, compiled by one ptxas run and loaded once.
  }];
  let options = [
    Option<"moduleName", "module-name", "std::string",
           /*default=*/"\"nova_kernels\"",
           "Name of the gpu.module holding every kernel">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

#endif // NOVA_PASSES_CONVERSION_PASSES_TD
