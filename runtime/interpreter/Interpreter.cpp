//===- Interpreter.cpp - Nova's reference interpreter ---------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Walks an entry function op by op. Nova ops go to Kernels.cpp; the upstream
// ops the spec importer emits (arith elementwise and casts, tensor reshapes
// and slices, func.return) are implemented here.
//
//===----------------------------------------------------------------------===//

#include "runtime/interpreter/Interpreter.h"

#include "dialect/NovaRuntimeTypes.h"
#include "nova/runtime/Shape.h"
#include "runtime/interpreter/Kernels.h"

#include "dialect/NovaOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::nova;
using namespace ::nova::interp;
namespace rt = ::nova::rt;
using rt::DType;
using rt::HostTensor;

//===----------------------------------------------------------------------===//
// Types and conversions
//===----------------------------------------------------------------------===//

static std::optional<Elem> elemOf(Type t) {
  if (t.isF32())
    return Elem::F32;
  if (t.isBF16())
    return Elem::BF16;
  if (t.isF16())
    return Elem::F16;
  if (t.isInteger(1))
    return Elem::I1;
  if (t.isInteger(8))
    return Elem::I8;
  if (t.isInteger(32))
    return Elem::I32;
  if (t.isInteger(64))
    return Elem::I64;
  return std::nullopt;
}

/// The interpreter's element types and the runtime's dtypes, one to one.
static constexpr std::pair<Elem, DType> kElemDTypes[] = {
    {Elem::F32, DType::F32}, {Elem::BF16, DType::BF16}, {Elem::F16, DType::F16},
    {Elem::I1, DType::Bool}, {Elem::I8, DType::I8},     {Elem::I32, DType::I32},
    {Elem::I64, DType::I64}};

static std::optional<DType> dtypeOf(Elem e) {
  for (auto [elem, dtype] : kElemDTypes)
    if (elem == e)
      return dtype;
  return std::nullopt;
}

static Elem elemOf(DType d) {
  for (auto [elem, dtype] : kElemDTypes)
    if (dtype == d)
      return elem;
  return Elem::F32;
}

bool ::nova::interp::toRuntimeType(Type type, DType &dtype,
                                   std::vector<int64_t> &shape) {
  std::optional<DType> d = runtimeTypeOf(type, shape);
  if (d)
    dtype = *d;
  return d.has_value();
}

static Tensor fromHost(const HostTensor &h, Elem elem) {
  Tensor t = Tensor::make(elem, h.shape());
  for (int64_t k = 0; k < h.numElements(); ++k) {
    if (t.isFloat())
      t.f[k] = h.floatAt(k);
    else
      t.i[k] = h.intAt(k);
  }
  return t;
}

static HostTensor toHost(const Tensor &t) {
  HostTensor h = HostTensor::zeros(*dtypeOf(t.elem), t.shape);
  for (int64_t k = 0; k < t.numElements(); ++k) {
    if (t.isFloat())
      h.setFloatAt(k, t.f[k]);
    else
      h.setIntAt(k, t.i[k]);
  }
  return h;
}

static std::string describeType(Type t) {
  DType dtype;
  std::vector<int64_t> shape;
  if (toRuntimeType(t, dtype, shape))
    return std::string(rt::dtypeName(dtype)) + rt::formatShape(shape);
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return s;
}

static std::string locationOf(Operation *op) {
  std::string where = formatFileLocation(op->getLoc());
  return where.empty() ? where : where + ": ";
}

//===----------------------------------------------------------------------===//
// Interpreter
//===----------------------------------------------------------------------===//

Interpreter::Interpreter(ModuleOp module) : module(module) {}
Interpreter::~Interpreter() = default;

std::vector<std::string> Interpreter::entries() const {
  std::vector<std::string> names;
  for (auto func : ModuleOp(module).getOps<func::FuncOp>())
    if (func.isPublic() && !func.isExternal())
      names.push_back(func.getName().str());
  return names;
}

bool Interpreter::supports(ModuleOp module, std::string &error) {
  static constexpr const char *kWhy =
      ": the interpreter runs unsharded modules only, and this one is a "
      "per-rank SPMD program (run it compiled, one process per rank)";
  WalkResult walk = module.walk([&](Operation *op) {
    if (isa<AllReduceOp, AllGatherOp, GroupCommOp, CommFreeOp, ShardIndexOp>(
            op)) {
      error = locationOf(op) + op->getName().getStringRef().str() + kWhy;
      return WalkResult::interrupt();
    }
    auto func = dyn_cast<func::FuncOp>(op);
    for (unsigned i = 0, e = func ? func.getNumArguments() : 0; i < e; ++i)
      if (func.getArgAttr(i, "nova.communicator")) {
        error = locationOf(op) + "entry '" + func.getName().str() +
                "' takes an MPI communicator (argument " + std::to_string(i) +
                ")" + kWhy;
        return WalkResult::interrupt();
      }
    return WalkResult::advance();
  });
  return !walk.wasInterrupted();
}

static func::FuncOp lookupEntry(ModuleOp module, StringRef entry,
                                std::string &error) {
  auto func = module.lookupSymbol<func::FuncOp>(entry);
  if (!func || func.isExternal()) {
    error = "no entry point '" + entry.str() + "' in the module";
    return nullptr;
  }
  return func;
}

bool Interpreter::bindParams(const rt::ModuleManifest &manifest,
                             StringRef entry, const ParamLookup &lookup,
                             std::string &error) {
  if (!supports(module, error) || !lookupEntry(module, entry, error))
    return false;
  const rt::ManifestEntry *contract = manifest.entry(entry);
  if (!contract) {
    error = "no entry point '" + entry.str() + "' in the module's manifest";
    return false;
  }
  for (const rt::ManifestArg &arg : contract->args) {
    if (!arg.isParameter() || params.count(arg.name))
      continue;
    HostTensor host;
    if (!lookup(arg.name, host, error))
      return false;
    if (host.dtype() != arg.dtype || host.shape() != arg.shape) {
      const rt::ManifestParam *param = manifest.param(arg.paramPath());
      std::string where = param && !param->location.empty()
                              ? param->location + ": "
                              : std::string();
      error = where + "checkpoint tensor '" + arg.name + "': expected " +
              std::string(rt::dtypeName(arg.dtype)) +
              rt::formatShape(arg.shape) + ", got " + host.describe();
      return false;
    }
    params[arg.name] =
        std::make_shared<Tensor>(fromHost(host, elemOf(arg.dtype)));
  }
  return true;
}

namespace {

/// One execution of an entry function.
class Frame {
public:
  Frame(const llvm::StringMap<std::shared_ptr<Tensor>> &params, RunStats &stats)
      : params(params), stats(stats) {}

  bool run(func::FuncOp func, const std::vector<HostTensor> &inputs,
           std::vector<HostTensor> &outputs, std::string &error);

private:
  const Tensor &get(Value v) { return *values.find(v)->second; }
  void set(Value v, Tensor t) {
    values[v] = std::make_shared<Tensor>(std::move(t));
  }
  bool execute(Operation *op, std::string &error);
  bool executeConstant(arith::ConstantOp c, std::string &error);
  bool executeArith(Operation *op, std::string &error);
  bool executeTensor(Operation *op, std::string &error);

  const llvm::StringMap<std::shared_ptr<Tensor>> &params;
  RunStats &stats;
  llvm::DenseMap<Value, std::shared_ptr<Tensor>> values;
  std::vector<HostTensor> *results = nullptr;
};

} // namespace

bool Frame::run(func::FuncOp func, const std::vector<HostTensor> &inputs,
                std::vector<HostTensor> &outputs, std::string &error) {
  Block &body = func.getBody().front();
  if (inputs.size() != body.getNumArguments()) {
    error = "entry '" + func.getName().str() + "' takes " +
            std::to_string(body.getNumArguments()) + " inputs, got " +
            std::to_string(inputs.size());
    return false;
  }
  for (auto [i, arg] : llvm::enumerate(body.getArguments())) {
    DType dtype;
    std::vector<int64_t> shape;
    if (!toRuntimeType(arg.getType(), dtype, shape)) {
      error = "input " + std::to_string(i) + " has unsupported type " +
              describeType(arg.getType());
      return false;
    }
    if (inputs[i].dtype() != dtype || inputs[i].shape() != shape) {
      auto name = func.getArgAttrOfType<StringAttr>(i, "nova.name");
      error = "input " + std::to_string(i) +
              (name ? " ('" + name.getValue().str() + "')" : std::string()) +
              ": expected " + describeType(arg.getType()) + ", got " +
              inputs[i].describe();
      return false;
    }
    set(arg, fromHost(inputs[i], *elemOf(getElementTypeOrSelf(arg.getType()))));
  }
  results = &outputs;
  outputs.clear();
  for (Operation &op : body) {
    ++stats.opsExecuted;
    if (!execute(&op, error)) {
      error =
          locationOf(&op) + op.getName().getStringRef().str() + ": " + error;
      return false;
    }
  }
  return true;
}

bool Frame::execute(Operation *op, std::string &error) {
  auto typeOf = [](Value v) { return *elemOf(getElementTypeOrSelf(v)); };
  return llvm::TypeSwitch<Operation *, bool>(op)
      .Case([&](func::ReturnOp ret) {
        for (Value v : ret.getOperands())
          results->push_back(toHost(get(v)));
        return true;
      })
      .Case([&](ParamOp p) {
        auto it = params.find(p.getPath());
        if (it == params.end()) {
          error = "parameter '" + p.getPath().str() + "' is not bound";
          return false;
        }
        values[p.getValue()] = it->second;
        if (p.isQuantized())
          values[p.getScales()] =
              params.find((p.getPath() + ".scales").str())->second;
        return true;
      })
      .Case([&](ShardOp s) {
        values[s.getResult()] = values[s.getInput()];
        return true;
      })
      .Case([&](QuantizeOp q) {
        set(q.getResult(), quantize(get(q.getInput()), get(q.getScales())));
        return true;
      })
      .Case([&](DequantizeOp q) {
        set(q.getResult(), dequantize(get(q.getInput()), get(q.getScales()),
                                      typeOf(q.getResult())));
        return true;
      })
      .Case([&](MatmulOp m) {
        set(m.getResult(), matmul(get(m.getLhs()), get(m.getRhs()),
                                  m.getTransposeRhs(), typeOf(m.getResult())));
        return true;
      })
      .Case([&](QMatmulOp m) {
        auto kernel = m.getInt8Activations() ? qmatmulInt8 : qmatmul;
        set(m.getResult(), kernel(get(m.getInput()), get(m.getWeight()),
                                  get(m.getScales()), typeOf(m.getResult())));
        return true;
      })
      .Case([&](ExpertQMatmulOp m) {
        Tensor out;
        if (!expertQMatmul(get(m.getInput()), get(m.getExperts()),
                           get(m.getWeight()), get(m.getScales()),
                           typeOf(m.getResult()), out, error))
          return false;
        set(m.getResult(), std::move(out));
        return true;
      })
      .Case([&](MoeRouteOp r) {
        Tensor gates, indices;
        if (!moeRoute(get(r.getLogits()),
                      r.getMask() ? &get(r.getMask()) : nullptr,
                      r.getForced() ? &get(r.getForced()) : nullptr, r.getK(),
                      r.getRenormalize(), gates, indices, error))
          return false;
        set(r.getGates(), std::move(gates));
        set(r.getIndices(), std::move(indices));
        return true;
      })
      .Case([&](MoeCombineOp c) {
        set(c.getResult(), moeCombine(get(c.getInput()), get(c.getGates()),
                                      typeOf(c.getResult())));
        return true;
      })
      .Case([&](RmsNormOp n) {
        set(n.getResult(), rmsNorm(get(n.getInput()), get(n.getScale()),
                                   n.getEps().convertToDouble()));
        return true;
      })
      .Case([&](GeluOp g) {
        set(g.getResult(), gelu(get(g.getInput())));
        return true;
      })
      .Case([&](SiluOp s) {
        set(s.getResult(), silu(get(s.getInput())));
        return true;
      })
      .Case([&](SoftmaxOp s) {
        set(s.getResult(), softmax(get(s.getInput()), s.getAxis()));
        return true;
      })
      .Case([&](EmbeddingOp e) {
        set(e.getResult(), embedding(get(e.getTable()), get(e.getIds()),
                                     typeOf(e.getResult())));
        return true;
      })
      .Case([&](RopeOp r) {
        set(r.getResult(), rope(get(r.getInput()), get(r.getPositions()),
                                r.getBase().convertToDouble()));
        return true;
      })
      .Case([&](KvCacheUpdateOp u) {
        set(u.getResult(), kvCacheUpdate(get(u.getCache()), get(u.getUpdate()),
                                         get(u.getPositions())));
        return true;
      })
      .Case([&](AttentionOp a) {
        std::optional<double> cap;
        if (a.getCap())
          cap = a.getCap()->convertToDouble();
        set(a.getResult(), attention(get(a.getQuery()), get(a.getKeys()),
                                     get(a.getValues()), get(a.getPositions()),
                                     a.getScale().convertToDouble(), cap));
        return true;
      })
      .Case([&](SampleOp s) {
        auto opt = [&](Value v) -> const Tensor * {
          return v ? &get(v) : nullptr;
        };
        SampleResult r = sample(
            get(s.getLogits()), get(s.getTemperature()), get(s.getTopP()),
            opt(s.getMask()), opt(s.getNoise()), opt(s.getSeed()),
            opt(s.getStep()), s.getTopK(), opt(s.getRowSeeds()), s.getStages());
        set(s.getToken(), std::move(r.token));
        set(s.getProb(), std::move(r.prob));
        set(s.getTopIds(), std::move(r.topIds));
        set(s.getTopProbs(), std::move(r.topProbs));
        if (s.getStages()) {
          ValueRange stages = s.getStageLogits();
          set(stages[0], std::move(r.scaled));
          set(stages[1], std::move(r.masked));
          set(stages[2], std::move(r.filtered));
        }
        return true;
      })
      .Case([&](TopPFilterOp f) {
        set(f.getResult(), topPFilter(get(f.getLogits()), get(f.getTopP())));
        return true;
      })
      .Default([&](Operation *other) {
        if (isa<arith::ArithDialect>(other->getDialect()))
          return executeArith(other, error);
        if (isa<tensor::TensorDialect>(other->getDialect()))
          return executeTensor(other, error);
        error = "the interpreter does not support this op";
        return false;
      });
}

//===----------------------------------------------------------------------===//
// arith
//===----------------------------------------------------------------------===//

/// The most elements of one constant (2^27: 1 GiB of f64 values).
static constexpr int64_t kMaxConstantElements = int64_t(1) << 27;

bool Frame::executeConstant(arith::ConstantOp c, std::string &error) {
  auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
  std::optional<Elem> elem = elemOf(getElementTypeOrSelf(c.getType()));
  auto type = dyn_cast<RankedTensorType>(c.getType());
  if (!dense || !elem || !type) {
    error = "only dense tensor constants are supported";
    return false;
  }
  // A splat of a few bytes of IR text may claim any shape: materializing
  // one beyond the limit the CPU backend also keeps (nova-check-cpu-input)
  // would let 100 bytes of input take gigabytes.
  std::optional<int64_t> count = ::nova::rt::checkedProduct(
      std::vector<int64_t>(type.getShape().begin(), type.getShape().end()));
  if (!count || *count > kMaxConstantElements) {
    error = "a constant of " +
            (count ? std::to_string(*count) : std::string("more than 2^63")) +
            " elements is over the interpreter's limit of " +
            std::to_string(kMaxConstantElements);
    return false;
  }
  Tensor t = Tensor::make(*elem, std::vector<int64_t>(type.getShape().begin(),
                                                      type.getShape().end()));
  int64_t n = t.numElements();
  if (t.isFloat()) {
    auto vals = dense.getValues<APFloat>();
    for (int64_t k = 0; k < n; ++k)
      t.f[k] = (dense.isSplat() ? *vals.begin() : vals[k]).convertToDouble();
  } else {
    auto vals = dense.getValues<APInt>();
    for (int64_t k = 0; k < n; ++k)
      t.i[k] = (dense.isSplat() ? *vals.begin() : vals[k]).getSExtValue();
  }
  set(c.getResult(), std::move(t));
  return true;
}

bool Frame::executeArith(Operation *op, std::string &error) {
  if (auto c = dyn_cast<arith::ConstantOp>(op))
    return executeConstant(c, error);
  if (op->getNumResults() != 1) {
    error = "the interpreter does not support this op";
    return false;
  }
  Value result = op->getResult(0);
  std::optional<Elem> outElem = elemOf(getElementTypeOrSelf(result.getType()));
  if (!outElem || !isa<RankedTensorType>(result.getType())) {
    error = "only ranked tensors are supported";
    return false;
  }
  const Tensor &a = get(op->getOperand(0));
  Tensor out = Tensor::make(*outElem, a.shape);
  int64_t n = a.numElements();

  // Casts.
  if (isa<arith::ExtFOp, arith::TruncFOp>(op)) {
    for (int64_t k = 0; k < n; ++k)
      out.f[k] = roundTo(*outElem, a.f[k]);
  } else if (isa<arith::SIToFPOp>(op)) {
    for (int64_t k = 0; k < n; ++k)
      out.f[k] = roundTo(*outElem, static_cast<double>(a.i[k]));
  } else if (isa<arith::FPToSIOp>(op)) {
    for (int64_t k = 0; k < n; ++k) {
      double t = std::trunc(a.f[k]);
      int64_t w = wrapInt(*outElem,
                          static_cast<int64_t>(std::clamp(t, -9.2e18, 9.2e18)));
      if (std::isnan(t) || static_cast<double>(w) != t) {
        error = "element " + std::to_string(k) + " (" + std::to_string(a.f[k]) +
                ") does not fit in " + elemName(*outElem);
        return false;
      }
      out.i[k] = w;
    }
  } else if (isa<arith::ExtSIOp, arith::TruncIOp>(op)) {
    for (int64_t k = 0; k < n; ++k)
      out.i[k] = wrapInt(*outElem, a.i[k]);
  } else if (op->getNumOperands() == 2) {
    const Tensor &b = get(op->getOperand(1));
    auto floatOp = [&](auto fn) {
      for (int64_t k = 0; k < n; ++k)
        out.f[k] = roundTo(*outElem, fn(a.f[k], b.f[k]));
      return true;
    };
    auto intOp = [&](auto fn) {
      for (int64_t k = 0; k < n; ++k) {
        std::optional<int64_t> v = fn(a.i[k], b.i[k]);
        if (!v) {
          error =
              std::string(b.i[k] == 0 ? "integer division by zero"
                                      : "integer division overflow (" +
                                            std::to_string(a.i[k]) + " / -1)") +
              " at element " + std::to_string(k);
          return false;
        }
        out.i[k] = wrapInt(*outElem, *v);
      }
      return true;
    };
    using I = std::optional<int64_t>;
    bool ok =
        llvm::TypeSwitch<Operation *, bool>(op)
            .Case([&](arith::AddFOp) {
              return floatOp([](double x, double y) { return x + y; });
            })
            .Case([&](arith::SubFOp) {
              return floatOp([](double x, double y) { return x - y; });
            })
            .Case([&](arith::MulFOp) {
              return floatOp([](double x, double y) { return x * y; });
            })
            .Case([&](arith::DivFOp) {
              return floatOp([](double x, double y) { return x / y; });
            })
            .Case([&](arith::MaximumFOp) {
              return floatOp([](double x, double y) {
                return std::isnan(x) || std::isnan(y) ? NAN : std::max(x, y);
              });
            })
            .Case([&](arith::AddIOp) {
              return intOp([](int64_t x, int64_t y) -> I {
                return static_cast<int64_t>(static_cast<uint64_t>(x) +
                                            static_cast<uint64_t>(y));
              });
            })
            .Case([&](arith::SubIOp) {
              return intOp([](int64_t x, int64_t y) -> I {
                return static_cast<int64_t>(static_cast<uint64_t>(x) -
                                            static_cast<uint64_t>(y));
              });
            })
            .Case([&](arith::MulIOp) {
              return intOp([](int64_t x, int64_t y) -> I {
                return static_cast<int64_t>(static_cast<uint64_t>(x) *
                                            static_cast<uint64_t>(y));
              });
            })
            .Case([&](arith::DivSIOp) {
              // arith.divsi is undefined for a zero divisor and for the
              // type's minimum over -1 (the quotient does not fit; x86
              // traps): both are errors, checked at the element type.
              int64_t min = minInt(*outElem);
              return intOp([&](int64_t x, int64_t y) -> I {
                if (y == 0 || (y == -1 && x == min))
                  return std::nullopt;
                return x / y;
              });
            })
            .Case([&](arith::MaxSIOp) {
              return intOp(
                  [](int64_t x, int64_t y) -> I { return std::max(x, y); });
            })
            .Default([&](Operation *) {
              error = "the interpreter does not support this op";
              return false;
            });
    if (!ok)
      return false;
  } else {
    error = "the interpreter does not support this op";
    return false;
  }
  set(result, std::move(out));
  return true;
}

//===----------------------------------------------------------------------===//
// tensor
//===----------------------------------------------------------------------===//

/// Row-major strides of `shape`.
static std::vector<int64_t> stridesOf(const std::vector<int64_t> &shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

/// Visits every element of a static slice of a tensor of shape `full`:
/// calls fn(sliceIndex, fullIndex) in row-major slice order.
template <typename Fn>
static void
forEachSliceElement(const std::vector<int64_t> &full, ArrayRef<int64_t> offsets,
                    ArrayRef<int64_t> sizes, ArrayRef<int64_t> strides, Fn fn) {
  std::vector<int64_t> fullStrides = stridesOf(full);
  int64_t count = 1;
  for (int64_t s : sizes)
    count *= s;
  std::vector<int64_t> idx(sizes.size(), 0);
  for (int64_t k = 0; k < count; ++k) {
    int64_t flat = 0;
    for (size_t d = 0; d < sizes.size(); ++d)
      flat += (offsets[d] + idx[d] * strides[d]) * fullStrides[d];
    fn(k, flat);
    for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
      if (++idx[d] < sizes[d])
        break;
      idx[d] = 0;
    }
  }
}

static bool staticSlice(Operation *op, ArrayRef<int64_t> offsets,
                        ArrayRef<int64_t> sizes, ArrayRef<int64_t> strides,
                        std::string &error) {
  auto dynamic = [](ArrayRef<int64_t> v) {
    return llvm::any_of(v, ShapedType::isDynamic);
  };
  if (dynamic(offsets) || dynamic(sizes) || dynamic(strides)) {
    error = "only static slices are supported";
    return false;
  }
  return true;
}

bool Frame::executeTensor(Operation *op, std::string &error) {
  if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(op)) {
    Tensor t = get(op->getOperand(0));
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    t.shape.assign(type.getShape().begin(), type.getShape().end());
    set(op->getResult(0), std::move(t));
    return true;
  }
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
    if (!staticSlice(op, slice.getStaticOffsets(), slice.getStaticSizes(),
                     slice.getStaticStrides(), error))
      return false;
    const Tensor &src = get(slice.getSource());
    auto type = slice.getResultType();
    Tensor out =
        Tensor::make(src.elem, std::vector<int64_t>(type.getShape().begin(),
                                                    type.getShape().end()));
    forEachSliceElement(src.shape, slice.getStaticOffsets(),
                        slice.getStaticSizes(), slice.getStaticStrides(),
                        [&](int64_t k, int64_t flat) {
                          if (out.isFloat())
                            out.f[k] = src.f[flat];
                          else
                            out.i[k] = src.i[flat];
                        });
    set(slice.getResult(), std::move(out));
    return true;
  }
  if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
    if (!staticSlice(op, insert.getStaticOffsets(), insert.getStaticSizes(),
                     insert.getStaticStrides(), error))
      return false;
    const Tensor &src = get(insert.getSource());
    Tensor out = get(insert.getDest());
    forEachSliceElement(out.shape, insert.getStaticOffsets(),
                        insert.getStaticSizes(), insert.getStaticStrides(),
                        [&](int64_t k, int64_t flat) {
                          if (out.isFloat())
                            out.f[flat] = src.f[k];
                          else
                            out.i[flat] = src.i[k];
                        });
    set(insert.getResult(), std::move(out));
    return true;
  }
  error = "the interpreter does not support this op";
  return false;
}

bool Interpreter::run(StringRef entry, const std::vector<HostTensor> &inputs,
                      std::vector<HostTensor> &outputs, std::string &error) {
  if (!supports(module, error))
    return false;
  func::FuncOp func = lookupEntry(module, entry, error);
  if (!func)
    return false;
  lastStats = RunStats();
  Frame frame(params, lastStats);
  return frame.run(func, inputs, outputs, error);
}
