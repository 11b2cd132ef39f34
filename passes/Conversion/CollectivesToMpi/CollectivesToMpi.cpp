//===- CollectivesToMpi.cpp - Nova collectives to MPI calls ---------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The buffer form of nova.all_reduce / nova.all_gather and the communicator
// ops become calls of the MPI C API with the MPICH ABI (i32 handles), the ABI
// of MPICH, Intel MPI and MVAPICH; Open MPI's (pointer handles) is not
// supported (docs/abi.md). Runs on buffers, before the memref lowering, so
// that temporaries and re-layouts are still memref and linalg ops.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/Passes.h"

#include "dialect/NovaOps.h"
#include "nova/runtime/Mpi.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"

#include <limits>

namespace mlir::nova {
#define GEN_PASS_DEF_COLLECTIVESTOMPIPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace mlir::nova

using namespace mlir;
using namespace mlir::nova;

//===----------------------------------------------------------------------===//
// The MPICH ABI
//===----------------------------------------------------------------------===//

/// Handles and constants of MPICH's mpi.h (4.0, libmpich.so.12): the
/// runtime's list (nova/runtime/Mpi.h), checked against the installed
/// library.
namespace mpich = ::nova::rt::mpi;

namespace {
/// The MPI functions the lowering calls, each `int f(...)`.
enum class MpiFn {
  Abort,
  Allgather,
  Allreduce,
  CommFree,
  CommRank,
  CommSize,
  CommSplit
};

struct MpiSignature {
  MpiFn fn;
  const char *name;
  /// 'i': i32 (a handle or an int), 'p': a pointer.
  const char *params;
};
} // namespace

static constexpr MpiSignature kSignatures[] = {
    {MpiFn::Abort, "MPI_Abort", "ii"},
    {MpiFn::Allgather, "MPI_Allgather", "piipiii"},
    {MpiFn::Allreduce, "MPI_Allreduce", "ppiiii"},
    {MpiFn::CommFree, "MPI_Comm_free", "p"},
    {MpiFn::CommRank, "MPI_Comm_rank", "ip"},
    {MpiFn::CommSize, "MPI_Comm_size", "ip"},
    {MpiFn::CommSplit, "MPI_Comm_split", "iiip"},
};

static const MpiSignature &signatureOf(MpiFn fn) {
  return kSignatures[static_cast<int>(fn)];
}

/// The MPI datatype of `type` for a reduction, or std::nullopt.
static std::optional<int32_t> reductionDatatype(Type type) {
  if (type.isF32())
    return mpich::kFloat;
  if (type.isF64())
    return mpich::kDouble;
  if (auto integer = dyn_cast<IntegerType>(type)) {
    switch (integer.getWidth()) {
    case 8:
      return mpich::kInt8T;
    case 16:
      return mpich::kInt16T;
    case 32:
      return mpich::kInt32T;
    case 64:
      return mpich::kInt64;
    }
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Emitting calls
//===----------------------------------------------------------------------===//

namespace {
/// The module's declarations of the MPI functions, made before rewriting.
class MpiRuntime {
public:
  /// Declares every function of `used` in `module` (reusing a declaration of
  /// the right type); a symbol of that name with another type is an error.
  LogicalResult declare(ModuleOp module, ArrayRef<MpiFn> used) {
    OpBuilder b(module.getBodyRegion());
    MLIRContext *ctx = module.getContext();
    Type i32 = IntegerType::get(ctx, 32);
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    for (MpiFn fn : used) {
      const MpiSignature &sig = signatureOf(fn);
      SmallVector<Type> params;
      for (const char *c = sig.params; *c; ++c)
        params.push_back(*c == 'i' ? i32 : ptr);
      auto type = LLVM::LLVMFunctionType::get(i32, params);
      Operation *existing = module.lookupSymbol(sig.name);
      if (auto func = dyn_cast_or_null<LLVM::LLVMFuncOp>(existing);
          func && func.getFunctionType() == type) {
        funcs[static_cast<int>(fn)] = func;
        continue;
      }
      if (existing)
        return existing->emitError()
               << "nova-collectives-to-mpi: '" << sig.name
               << "' is already defined with another type; expected " << type
               << " (MPICH ABI)";
      funcs[static_cast<int>(fn)] =
          LLVM::LLVMFuncOp::create(b, module.getLoc(), sig.name, type);
    }
    return success();
  }

  LLVM::LLVMFuncOp get(MpiFn fn) const { return funcs[static_cast<int>(fn)]; }

private:
  LLVM::LLVMFuncOp funcs[std::size(kSignatures)];
};

/// Emits one collective's calls at the builder's insertion point.
class MpiEmitter {
public:
  MpiEmitter(OpBuilder &b, Location loc, const MpiRuntime &runtime,
             Operation *op)
      : b(b), loc(loc), runtime(runtime), op(op) {}

  Value i32(int64_t v) {
    return arith::ConstantIntOp::create(b, loc, v, 32).getResult();
  }
  Value index(int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v).getResult();
  }

  /// Calls `fn` and, when it returns anything but MPI_SUCCESS, aborts every
  /// process of `comm` with the returned code.
  void call(MpiFn fn, ValueRange args, Value abortComm) {
    Value rc = LLVM::CallOp::create(b, loc, runtime.get(fn), args).getResult();
    Value failed = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, rc,
                                         i32(mpich::kSuccess));
    abortIf(failed, abortComm, rc);
  }

  /// MPI_Abort(comm, code) when `condition` holds. MPI_Abort does not
  /// return.
  void abortIf(Value condition, Value comm, Value code) {
    auto ifOp = scf::IfOp::create(b, loc, condition, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    LLVM::CallOp::create(b, loc, runtime.get(MpiFn::Abort),
                         ValueRange{comm, code});
  }

  /// A stack slot for one i32 out-parameter, in the entry block of the
  /// enclosing allocation scope (not inside a loop).
  Value i32Slot() {
    Operation *scope =
        op->getParentWithTrait<OpTrait::AutomaticAllocationScope>();
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&scope->getRegion(0).front());
    Value one = LLVM::ConstantOp::create(b, loc, b.getI64Type(),
                                         b.getI64IntegerAttr(1));
    return LLVM::AllocaOp::create(b, loc, ptrType(), b.getI32Type(), one);
  }

  Value load(Value slot) {
    return LLVM::LoadOp::create(b, loc, b.getI32Type(), slot);
  }

  /// MPI_Comm_rank(comm).
  Value rank(Value comm) {
    Value slot = i32Slot();
    call(MpiFn::CommRank, {comm, slot}, comm);
    return load(slot);
  }

  /// Aborts with MPI_ERR_TOPOLOGY unless `world` has `devices` ranks.
  void checkWorldSize(Value world, int64_t devices) {
    Value slot = i32Slot();
    call(MpiFn::CommSize, {world, slot}, world);
    Value wrong = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                                        load(slot), i32(devices));
    abortIf(wrong, world, i32(mpich::kErrTopology));
  }

  /// The address of the first element of `memref` (its aligned pointer plus
  /// its offset) as an LLVM pointer.
  Value pointer(Value memref) {
    auto type = cast<MemRefType>(memref.getType());
    Value address =
        memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
    auto [strides, offset] = type.getStridesAndOffset();
    Value elements;
    if (ShapedType::isDynamic(offset))
      elements =
          memref::ExtractStridedMetadataOp::create(b, loc, memref).getOffset();
    else if (offset != 0)
      elements = index(offset);
    if (elements) {
      Value bytes = arith::MulIOp::create(
          b, loc, elements, index(elementBytes(type.getElementType())));
      address = arith::AddIOp::create(b, loc, address, bytes);
    }
    Value i64 =
        arith::IndexCastOp::create(b, loc, b.getI64Type(), address).getResult();
    return LLVM::IntToPtrOp::create(b, loc, ptrType(), i64);
  }

  Value inPlace() {
    Value minusOne = LLVM::ConstantOp::create(
        b, loc, b.getI64Type(), b.getI64IntegerAttr(mpich::kInPlace));
    return LLVM::IntToPtrOp::create(b, loc, ptrType(), minusOne);
  }

  int64_t elementBytes(Type type) {
    return DataLayout::closest(op).getTypeSize(type).getFixedValue();
  }

  Type ptrType() { return LLVM::LLVMPointerType::get(b.getContext()); }

  OpBuilder &b;
  Location loc;
  const MpiRuntime &runtime;
  Operation *op;
};
} // namespace

//===----------------------------------------------------------------------===//
// Contiguous buffers
//===----------------------------------------------------------------------===//

/// A buffer MPI can address as one dense block: the value itself when it is
/// contiguous row-major, else a temporary (`staged`).
namespace {
struct DenseBuffer {
  Value buffer;
  bool staged = false;
};
} // namespace

/// `memref` as a dense block; `copyIn` copies a staged buffer's contents
/// (for what MPI reads).
static DenseBuffer makeDense(OpBuilder &b, Location loc, Value memref,
                             bool copyIn) {
  auto type = cast<MemRefType>(memref.getType());
  if (memref::isStaticShapeAndContiguousRowMajor(type))
    return {memref, false};
  auto dense =
      MemRefType::get(type.getShape(), type.getElementType(),
                      MemRefLayoutAttrInterface(), type.getMemorySpace());
  Value temp = memref::AllocOp::create(b, loc, dense);
  if (copyIn)
    linalg::CopyOp::create(b, loc, memref, temp);
  return {temp, true};
}

/// Copies a staged output back into `memref` and frees the temporary.
static void finishDense(OpBuilder &b, Location loc, const DenseBuffer &dense,
                        Value memref, bool copyOut) {
  if (!dense.staged)
    return;
  if (copyOut)
    linalg::CopyOp::create(b, loc, dense.buffer, memref);
  memref::DeallocOp::create(b, loc, dense.buffer);
}

static int64_t numElements(ShapedType type) { return type.getNumElements(); }

//===----------------------------------------------------------------------===//
// Mesh arithmetic
//===----------------------------------------------------------------------===//

/// The row-major linear index, over `axes` in that order, of the device
/// with rank `rank` on `mesh` (whose coordinates are row-major over all its
/// axes).
static Value linearIndex(MpiEmitter &e, MeshOp mesh, ArrayRef<StringRef> axes,
                         Value rank) {
  SmallVector<StringRef> names;
  for (Attribute a : mesh.getAxisNames())
    names.push_back(cast<StringAttr>(a).getValue());
  ArrayRef<int64_t> shape = mesh.getShape();
  Value result = e.i32(0);
  for (StringRef axis : axes) {
    size_t at = llvm::find(names, axis) - names.begin();
    int64_t size = shape[at];
    int64_t stride = 1;
    for (size_t later = at + 1; later < shape.size(); ++later)
      stride *= shape[later];
    // coordinate = (rank / stride) % size
    Value coord = arith::RemUIOp::create(
        e.b, e.loc, arith::DivUIOp::create(e.b, e.loc, rank, e.i32(stride)),
        e.i32(size));
    result = arith::AddIOp::create(
        e.b, e.loc, arith::MulIOp::create(e.b, e.loc, result, e.i32(size)),
        coord);
  }
  return result;
}

static SmallVector<StringRef> axesOf(ArrayAttr axes) {
  SmallVector<StringRef> out;
  for (Attribute a : axes)
    out.push_back(cast<StringAttr>(a).getValue());
  return out;
}

static MeshOp meshOf(Operation *op, FlatSymbolRefAttr ref) {
  return SymbolTable::lookupNearestSymbolFrom<MeshOp>(op, ref);
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

namespace {
template <typename OpT> struct MpiPattern : OpConversionPattern<OpT> {
  MpiPattern(MLIRContext *ctx, const MpiRuntime &runtime)
      : OpConversionPattern<OpT>(ctx), runtime(runtime) {}
  const MpiRuntime &runtime;
};

struct AllReduceLowering : MpiPattern<AllReduceOp> {
  using MpiPattern::MpiPattern;
  LogicalResult
  matchAndRewrite(AllReduceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MpiEmitter e(rewriter, loc, runtime, op);
    auto type = cast<MemRefType>(adaptor.getInput().getType());
    DenseBuffer in = makeDense(rewriter, loc, adaptor.getInput(), true);
    DenseBuffer out = makeDense(rewriter, loc, adaptor.getOut(), false);
    Value send = e.pointer(in.buffer);
    Value recv = e.pointer(out.buffer);
    if (!in.staged && !out.staged) {
      // The same buffer in and out: MPI wants MPI_IN_PLACE, not aliasing.
      Value same = LLVM::ICmpOp::create(rewriter, loc, LLVM::ICmpPredicate::eq,
                                        send, recv);
      send = LLVM::SelectOp::create(rewriter, loc, same, e.inPlace(), send);
    }
    Value comm = adaptor.getComm();
    e.call(MpiFn::Allreduce,
           {send, recv, e.i32(numElements(type)),
            e.i32(*reductionDatatype(type.getElementType())),
            e.i32(mpich::kSum), comm},
           comm);
    finishDense(rewriter, loc, out, adaptor.getOut(), /*copyOut=*/true);
    finishDense(rewriter, loc, in, adaptor.getInput(), /*copyOut=*/false);
    rewriter.eraseOp(op);
    return success();
  }
};
} // namespace

/// Whether gathering shards along `dim` of `type` is a plain concatenation
/// of their bytes: every dimension before `dim` has extent 1.
static bool gathersContiguously(MemRefType type, int64_t dim) {
  return llvm::all_of(type.getShape().take_front(dim),
                      [](int64_t d) { return d == 1; });
}

namespace {
struct AllGatherLowering : MpiPattern<AllGatherOp> {
  using MpiPattern::MpiPattern;
  LogicalResult
  matchAndRewrite(AllGatherOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MpiEmitter e(rewriter, loc, runtime, op);
    auto inType = cast<MemRefType>(adaptor.getInput().getType());
    auto outType = cast<MemRefType>(adaptor.getOut().getType());
    int64_t dim = op.getDim();
    int64_t shard = inType.getDimSize(dim);
    int64_t group = outType.getDimSize(dim) / shard;
    int64_t bytes =
        numElements(inType) * e.elementBytes(inType.getElementType());
    bool direct = gathersContiguously(inType, dim);

    DenseBuffer in = makeDense(rewriter, loc, adaptor.getInput(), true);
    DenseBuffer out = makeDense(rewriter, loc, adaptor.getOut(), false);
    // MPI_Allgather places rank r's bytes at r * bytes: shard-major.
    Value recv = out.buffer;
    if (!direct) {
      SmallVector<int64_t> tempShape = {group};
      llvm::append_range(tempShape, inType.getShape());
      recv = memref::AllocOp::create(
          rewriter, loc,
          MemRefType::get(tempShape, inType.getElementType(),
                          MemRefLayoutAttrInterface(),
                          outType.getMemorySpace()));
    }
    Value comm = adaptor.getComm();
    Value count = e.i32(bytes);
    Value byte = e.i32(mpich::kByte);
    e.call(
        MpiFn::Allgather,
        {e.pointer(in.buffer), count, byte, e.pointer(recv), count, byte, comm},
        comm);
    if (!direct) {
      // y[a..., r * shard + i, b...] = t[r, a..., i, b...]: view y as
      // [a..., group, shard, b...] and t with its first axis moved to
      // position `dim`, then copy.
      int64_t rank = outType.getRank();
      SmallVector<ReassociationIndices> groups;
      SmallVector<int64_t> expandedShape;
      for (int64_t d = 0; d < rank; ++d) {
        ReassociationIndices indices = {
            static_cast<int64_t>(expandedShape.size())};
        if (d == dim) {
          expandedShape.push_back(group);
          indices.push_back(expandedShape.size());
          expandedShape.push_back(shard);
        } else {
          expandedShape.push_back(outType.getDimSize(d));
        }
        groups.push_back(indices);
      }
      Value expanded = memref::ExpandShapeOp::create(
          rewriter, loc, expandedShape, out.buffer, groups);
      SmallVector<AffineExpr> order;
      for (int64_t d = 1; d <= dim; ++d)
        order.push_back(rewriter.getAffineDimExpr(d));
      order.push_back(rewriter.getAffineDimExpr(0));
      for (int64_t d = dim + 1; d <= rank; ++d)
        order.push_back(rewriter.getAffineDimExpr(d));
      Value moved = memref::TransposeOp::create(
          rewriter, loc, recv,
          AffineMapAttr::get(
              AffineMap::get(rank + 1, 0, order, rewriter.getContext())));
      linalg::CopyOp::create(rewriter, loc, moved, expanded);
      memref::DeallocOp::create(rewriter, loc, recv);
    }
    finishDense(rewriter, loc, out, adaptor.getOut(), /*copyOut=*/true);
    finishDense(rewriter, loc, in, adaptor.getInput(), /*copyOut=*/false);
    rewriter.eraseOp(op);
    return success();
  }
};

struct GroupCommLowering : MpiPattern<GroupCommOp> {
  using MpiPattern::MpiPattern;
  LogicalResult
  matchAndRewrite(GroupCommOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value world = adaptor.getWorld();
    if (op.isWholeMesh()) {
      rewriter.replaceOp(op, world);
      return success();
    }
    MeshOp mesh = meshOf(op, op.getMeshAttr());
    MpiEmitter e(rewriter, op.getLoc(), runtime, op);
    e.checkWorldSize(world, mesh.getNumDevices());
    Value rank = e.rank(world);
    SmallVector<StringRef> group = axesOf(op.getAxes());
    SmallVector<StringRef> others;
    for (Attribute a : mesh.getAxisNames())
      if (!llvm::is_contained(group, cast<StringAttr>(a).getValue()))
        others.push_back(cast<StringAttr>(a).getValue());
    Value color = linearIndex(e, mesh, others, rank);
    Value key = linearIndex(e, mesh, group, rank);
    Value slot = e.i32Slot();
    e.call(MpiFn::CommSplit, {world, color, key, slot}, world);
    rewriter.replaceOp(op, e.load(slot));
    return success();
  }
};

/// A comm_free of a whole-mesh group_comm was erased before conversion (the
/// world communicator is the caller's).
struct CommFreeLowering : MpiPattern<CommFreeOp> {
  using MpiPattern::MpiPattern;
  LogicalResult
  matchAndRewrite(CommFreeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    MpiEmitter e(rewriter, op.getLoc(), runtime, op);
    Value comm = adaptor.getComm();
    Value slot = e.i32Slot();
    LLVM::StoreOp::create(rewriter, op.getLoc(), comm, slot);
    e.call(MpiFn::CommFree, {slot}, comm);
    rewriter.eraseOp(op);
    return success();
  }
};

struct ShardIndexLowering : MpiPattern<ShardIndexOp> {
  using MpiPattern::MpiPattern;
  LogicalResult
  matchAndRewrite(ShardIndexOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    MeshOp mesh = meshOf(op, op.getMeshAttr());
    MpiEmitter e(rewriter, op.getLoc(), runtime, op);
    Value world = adaptor.getWorld();
    e.checkWorldSize(world, mesh.getNumDevices());
    Value index = linearIndex(e, mesh, axesOf(op.getAxes()), e.rank(world));
    rewriter.replaceOp(op, arith::IndexCastUIOp::create(rewriter, op.getLoc(),
                                                        rewriter.getIndexType(),
                                                        index));
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Preconditions and leftovers
//===----------------------------------------------------------------------===//

/// Checks what the patterns rely on, erases the comm_free ops that have
/// nothing to free and collects the MPI functions the module will call.
static LogicalResult prepare(ModuleOp module, SmallVectorImpl<MpiFn> &used) {
  llvm::SmallSetVector<MpiFn, 8> fns;
  auto needsBufferForm = [&](Operation *op, bool buffers) -> LogicalResult {
    if (buffers)
      return success();
    return op->emitError()
           << "nova-collectives-to-mpi: expected the buffer form of '"
           << op->getName()
           << "' (run one-shot-bufferize before lowering collectives)";
  };
  auto fitsInt = [&](Operation *op, int64_t n,
                     StringRef what) -> LogicalResult {
    if (n <= std::numeric_limits<int32_t>::max())
      return success();
    return op->emitError() << "nova-collectives-to-mpi: " << what << " (" << n
                           << ") exceeds MPI's int count (2^31 - 1)";
  };
  auto hasMesh = [&](Operation *op, FlatSymbolRefAttr ref) -> LogicalResult {
    if (meshOf(op, ref))
      return success();
    return op->emitError() << "nova-collectives-to-mpi: no nova.mesh " << ref
                           << " in the module (it must stay until the "
                              "collectives are lowered)";
  };
  SmallVector<CommFreeOp> noops;
  WalkResult result = module.walk([&](Operation *op) -> WalkResult {
    LogicalResult ok =
        llvm::TypeSwitch<Operation *, LogicalResult>(op)
            .Case([&](AllReduceOp r) -> LogicalResult {
              if (failed(needsBufferForm(r, r.hasBufferSemantics())))
                return failure();
              auto type = cast<MemRefType>(r.getInput().getType());
              if (!reductionDatatype(type.getElementType()))
                return r.emitError()
                       << "nova-collectives-to-mpi: no MPI datatype reduces "
                       << type.getElementType()
                       << " (expected f32, f64, i8, i16, i32 or i64)";
              fns.insert(MpiFn::Allreduce);
              return fitsInt(r, numElements(type), "the element count");
            })
            .Case([&](AllGatherOp g) -> LogicalResult {
              if (failed(needsBufferForm(g, g.hasBufferSemantics())))
                return failure();
              auto type = cast<MemRefType>(g.getInput().getType());
              fns.insert(MpiFn::Allgather);
              return fitsInt(g,
                             numElements(type) *
                                 DataLayout::closest(g)
                                     .getTypeSize(type.getElementType())
                                     .getFixedValue(),
                             "the shard's byte count");
            })
            .Case([&](GroupCommOp c) -> LogicalResult {
              if (failed(hasMesh(c, c.getMeshAttr())))
                return failure();
              if (!c.isWholeMesh()) {
                fns.insert(MpiFn::CommSize);
                fns.insert(MpiFn::CommRank);
                fns.insert(MpiFn::CommSplit);
              }
              return success();
            })
            .Case([&](CommFreeOp f) -> LogicalResult {
              auto group = f.getComm().getDefiningOp<GroupCommOp>();
              if (!group)
                return f.emitError()
                       << "nova-collectives-to-mpi: expected the operand of "
                          "nova.comm_free to be a nova.group_comm result";
              if (failed(hasMesh(group, group.getMeshAttr())))
                return failure();
              if (group.isWholeMesh())
                noops.push_back(f);
              else
                fns.insert(MpiFn::CommFree);
              return success();
            })
            .Case([&](ShardIndexOp s) -> LogicalResult {
              if (failed(hasMesh(s, s.getMeshAttr())))
                return failure();
              fns.insert(MpiFn::CommSize);
              fns.insert(MpiFn::CommRank);
              return success();
            })
            .Default([](Operation *) { return success(); });
    return failed(ok) ? WalkResult::interrupt() : WalkResult::advance();
  });
  if (result.wasInterrupted())
    return failure();
  for (CommFreeOp f : noops)
    f.erase();
  if (!fns.empty())
    fns.insert(MpiFn::Abort);
  used.assign(fns.begin(), fns.end());
  llvm::sort(used);
  return success();
}

/// Any collective, nova.shard, `shard.*` or `mpi.*` op left in `module` is
/// an error: nothing after this pass lowers them, and the upstream shard and
/// mpi lowerings leave what they cannot convert without failing.
static LogicalResult checkNoLeftovers(ModuleOp module) {
  bool left = false;
  module.walk([&](Operation *op) {
    StringRef dialect = op->getName().getDialectNamespace();
    if (isa<AllReduceOp, AllGatherOp, GroupCommOp, CommFreeOp, ShardIndexOp,
            ShardOp>(op) ||
        dialect == "shard" || dialect == "mpi") {
      op->emitError() << "nova-collectives-to-mpi: '" << op->getName()
                      << "' is left after lowering collectives to MPI; the "
                         "CPU pipeline has no lowering for it";
      left = true;
    }
  });
  return failure(left);
}

namespace {
struct CollectivesToMpiPass
    : mlir::nova::impl::CollectivesToMpiPassBase<CollectivesToMpiPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<MpiFn> used;
    MpiRuntime runtime;
    if (failed(prepare(module, used)) || failed(runtime.declare(module, used)))
      return signalPassFailure();
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addIllegalOp<AllReduceOp, AllGatherOp, GroupCommOp, CommFreeOp,
                        ShardIndexOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    patterns.add<AllReduceLowering, AllGatherLowering, GroupCommLowering,
                 CommFreeLowering, ShardIndexLowering>(ctx, runtime);
    if (failed(applyPartialConversion(module, target, std::move(patterns))) ||
        failed(checkNoLeftovers(module)))
      signalPassFailure();
  }
};

} // namespace
