// RUN: nova-opt %s --nova-collectives-to-mpi | FileCheck %s

// The buffer form of Nova's collectives becomes MPI calls, MPICH ABI:
// MPI_SUM = 0x58000003 = 1476395011, MPI_FLOAT = 0x4c00040a = 1275069450,
// MPI_INT32_T = 0x4c000439 = 1275069497, MPI_BYTE = 0x4c00010d = 1275068685,
// MPI_IN_PLACE = (void *)-1, MPI_ERR_TOPOLOGY = 10. Every call's return code
// is checked and aborts the job through MPI_Abort. The meshes stay (the
// pipeline erases them once everything is lowered).

// The MPI functions used, declared once.
// CHECK-DAG: llvm.func @MPI_Abort(i32, i32) -> i32
// CHECK-DAG: llvm.func @MPI_Allgather(!llvm.ptr, i32, i32, !llvm.ptr, i32, i32, i32) -> i32
// CHECK-DAG: llvm.func @MPI_Allreduce(!llvm.ptr, !llvm.ptr, i32, i32, i32, i32) -> i32
// CHECK-DAG: llvm.func @MPI_Comm_free(!llvm.ptr) -> i32
// CHECK-DAG: llvm.func @MPI_Comm_rank(i32, !llvm.ptr) -> i32
// CHECK-DAG: llvm.func @MPI_Comm_size(i32, !llvm.ptr) -> i32
// CHECK-DAG: llvm.func @MPI_Comm_split(i32, i32, i32, !llvm.ptr) -> i32
// CHECK-DAG: nova.mesh @mesh
// CHECK-DAG: nova.mesh @grid
nova.mesh @mesh ["model" = 2]
nova.mesh @grid ["data" = 2, "model" = 2]

// An f32 sum: MPI_IN_PLACE when input and output are one buffer at run time.
// CHECK-LABEL: func.func @all_reduce_f32
// CHECK-SAME: (%[[IN:.+]]: memref<8x16xf32>, %[[OUT:.+]]: memref<8x16xf32>, %[[COMM:.+]]: i32)
// CHECK-DAG: %[[INADDR:.+]] = memref.extract_aligned_pointer_as_index %[[IN]]
// CHECK-DAG: %[[OUTADDR:.+]] = memref.extract_aligned_pointer_as_index %[[OUT]]
// CHECK: %[[SAME:.+]] = llvm.icmp "eq" %[[SEND:[^,]+]], %[[RECV:[^ ]+]] : !llvm.ptr
// CHECK: %[[MINUS1:.+]] = llvm.mlir.constant(-1 : i64) : i64
// CHECK: %[[INPLACE:.+]] = llvm.inttoptr %[[MINUS1]] : i64 to !llvm.ptr
// CHECK: %[[SENDBUF:.+]] = llvm.select %[[SAME]], %[[INPLACE]], %[[SEND]]
// CHECK-DAG: %[[COUNT:.+]] = arith.constant 128 : i32
// CHECK-DAG: %[[FLOAT:.+]] = arith.constant 1275069450 : i32
// CHECK-DAG: %[[SUM:.+]] = arith.constant 1476395011 : i32
// CHECK: %[[RC:.+]] = llvm.call @MPI_Allreduce(%[[SENDBUF]], %[[RECV]], %[[COUNT]], %[[FLOAT]], %[[SUM]], %[[COMM]])
// CHECK: %[[FAILED:.+]] = arith.cmpi ne, %[[RC]], %{{.+}} : i32
// CHECK: scf.if %[[FAILED]] {
// CHECK-NEXT: llvm.call @MPI_Abort(%[[COMM]], %[[RC]])
// CHECK-NOT: nova.all_reduce
// CHECK: return
func.func @all_reduce_f32(%in: memref<8x16xf32>, %out: memref<8x16xf32>, %comm: i32) {
  nova.all_reduce %in, %comm over @mesh ["model"] into %out : memref<8x16xf32>, memref<8x16xf32>
  return
}

// Integers reduce with the fixed-width MPI datatypes.
// CHECK-LABEL: func.func @all_reduce_i32
// CHECK-DAG: %[[COUNT:.+]] = arith.constant 4 : i32
// CHECK-DAG: %[[INT32:.+]] = arith.constant 1275069497 : i32
// CHECK: llvm.call @MPI_Allreduce(%{{.+}}, %{{.+}}, %[[COUNT]], %[[INT32]],
func.func @all_reduce_i32(%in: memref<4xi32>, %out: memref<4xi32>, %comm: i32) {
  nova.all_reduce %in, %comm over @mesh ["model"] into %out : memref<4xi32>, memref<4xi32>
  return
}

// A strided (non-contiguous) input is staged through a dense temporary; a
// contiguous view with an offset is addressed at its first element.
// CHECK-LABEL: func.func @all_reduce_views
// CHECK-SAME: (%[[IN:.+]]: memref<4x8xf32, strided<[16, 1], offset: 4>>, %[[OUT:.+]]: memref<4x8xf32, strided<[8, 1], offset: 16>>,
// CHECK: %[[TEMP:.+]] = memref.alloc() : memref<4x8xf32>
// CHECK: linalg.copy ins(%[[IN]] : {{.+}}) outs(%[[TEMP]] : memref<4x8xf32>)
// CHECK: memref.extract_aligned_pointer_as_index %[[TEMP]]
// CHECK: %[[BASE:.+]] = memref.extract_aligned_pointer_as_index %[[OUT]]
// CHECK: %[[OFFSET:.+]] = arith.constant 16 : index
// CHECK: %[[BYTES:.+]] = arith.muli %[[OFFSET]], %{{.+}} : index
// CHECK: arith.addi %[[BASE]], %[[BYTES]] : index
// CHECK-NOT: llvm.select
// CHECK: llvm.call @MPI_Allreduce
// CHECK: memref.dealloc %[[TEMP]]
func.func @all_reduce_views(%in: memref<4x8xf32, strided<[16, 1], offset: 4>>,
                            %out: memref<4x8xf32, strided<[8, 1], offset: 16>>, %comm: i32) {
  nova.all_reduce %in, %comm over @mesh ["model"] into %out
      : memref<4x8xf32, strided<[16, 1], offset: 4>>, memref<4x8xf32, strided<[8, 1], offset: 16>>
  return
}

// Along the outermost dimension of extent > 1 the shards are contiguous in
// the output: one MPI_Allgather of the shard's bytes straight into it.
// CHECK-LABEL: func.func @all_gather_outer
// CHECK-SAME: (%[[IN:.+]]: memref<1x3x4xbf16>, %[[OUT:.+]]: memref<1x6x4xbf16>, %[[COMM:.+]]: i32)
// CHECK-DAG: %[[BYTES:.+]] = arith.constant 24 : i32
// CHECK-DAG: %[[BYTE:.+]] = arith.constant 1275068685 : i32
// CHECK-DAG: %[[INADDR:.+]] = memref.extract_aligned_pointer_as_index %[[IN]]
// CHECK-DAG: %[[OUTADDR:.+]] = memref.extract_aligned_pointer_as_index %[[OUT]]
// CHECK-NOT: memref.alloc
// CHECK: llvm.call @MPI_Allgather(%{{.+}}, %[[BYTES]], %[[BYTE]], %{{.+}}, %[[BYTES]], %[[BYTE]], %[[COMM]])
// CHECK-NOT: linalg.copy
// CHECK: return
func.func @all_gather_outer(%in: memref<1x3x4xbf16>, %out: memref<1x6x4xbf16>, %comm: i32) {
  nova.all_gather %in, %comm over @mesh ["model"] dim 1 into %out : memref<1x3x4xbf16>, memref<1x6x4xbf16>
  return
}

// Along an inner dimension: gathered shard-major into t[2, 2, 3], then
// y[i, r * 3 + j] = t[r, i, j] through an expanded view of y and a
// transposed one of t.
// CHECK-LABEL: func.func @all_gather_inner
// CHECK-SAME: (%[[IN:.+]]: memref<2x3xf32>, %[[OUT:.+]]: memref<2x6xf32>, %[[COMM:.+]]: i32)
// CHECK: %[[TEMP:.+]] = memref.alloc() : memref<2x2x3xf32>
// CHECK: %[[TEMPADDR:.+]] = memref.extract_aligned_pointer_as_index %[[TEMP]]
// CHECK: llvm.call @MPI_Allgather(
// CHECK: %[[Y:.+]] = memref.expand_shape %[[OUT]] {{\[}}[0], [1, 2]] output_shape [2, 2, 3] : memref<2x6xf32> into memref<2x2x3xf32>
// CHECK: %[[T:.+]] = memref.transpose %[[TEMP]] (d0, d1, d2) -> (d1, d0, d2) : memref<2x2x3xf32> to memref<2x2x3xf32, strided<[3, 6, 1]>>
// CHECK: linalg.copy ins(%[[T]] : memref<2x2x3xf32, strided<[3, 6, 1]>>) outs(%[[Y]] : memref<2x2x3xf32>)
// CHECK: memref.dealloc %[[TEMP]]
func.func @all_gather_inner(%in: memref<2x3xf32>, %out: memref<2x6xf32>, %comm: i32) {
  nova.all_gather %in, %comm over @mesh ["model"] dim 1 into %out : memref<2x3xf32>, memref<2x6xf32>
  return
}

// The communicator of the group over "model" on a 2x2 mesh: rank r is the
// device (r / 2, r % 2); color = its "data" coordinate, key = its "model"
// coordinate. The world must have 4 ranks.
// CHECK-LABEL: func.func @group_comm_split
// CHECK-SAME: (%[[WORLD:.+]]: i32) -> i32
// CHECK: llvm.call @MPI_Comm_size(%[[WORLD]], %[[SIZESLOT:[^)]+]])
// CHECK: %[[SIZE:.+]] = llvm.load %[[SIZESLOT]]
// CHECK: %[[WRONG:.+]] = arith.cmpi ne, %[[SIZE]], %{{.+}} : i32
// CHECK: %[[TOPOLOGY:.+]] = arith.constant 10 : i32
// CHECK: scf.if %[[WRONG]] {
// CHECK-NEXT: llvm.call @MPI_Abort(%[[WORLD]], %[[TOPOLOGY]])
// CHECK: llvm.call @MPI_Comm_rank(%[[WORLD]], %[[RANKSLOT:[^)]+]])
// CHECK: %[[RANK:.+]] = llvm.load %[[RANKSLOT]]
// color: (rank / 2) % 2
// CHECK: %[[TWO:.+]] = arith.constant 2 : i32
// CHECK: %[[DIV:.+]] = arith.divui %[[RANK]], %[[TWO]]
// CHECK: %[[DATA:.+]] = arith.remui %[[DIV]], %{{.+}}
// CHECK: %[[COLOR:.+]] = arith.addi %{{.+}}, %[[DATA]]
// key: (rank / 1) % 2
// CHECK: %[[ONE:.+]] = arith.constant 1 : i32
// CHECK: %[[DIV1:.+]] = arith.divui %[[RANK]], %[[ONE]]
// CHECK: %[[MODEL:.+]] = arith.remui %[[DIV1]], %{{.+}}
// CHECK: %[[KEY:.+]] = arith.addi %{{.+}}, %[[MODEL]]
// CHECK: llvm.call @MPI_Comm_split(%[[WORLD]], %[[COLOR]], %[[KEY]], %[[COMMSLOT:[^)]+]])
// CHECK: %[[COMM:.+]] = llvm.load %[[COMMSLOT]]
// CHECK: return %[[COMM]]
func.func @group_comm_split(%world: i32) -> i32 {
  %c = nova.group_comm %world over @grid ["model"] : i32
  return %c : i32
}

// The whole mesh in mesh order is the world communicator: no call, and
// nothing to free.
// CHECK-LABEL: func.func @group_comm_whole
// CHECK-SAME: (%[[WORLD:.+]]: i32, %[[IN:.+]]: memref<4xf32>, %[[OUT:.+]]: memref<4xf32>)
// CHECK-NOT: MPI_Comm_split
// CHECK: llvm.call @MPI_Allreduce(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[WORLD]])
// CHECK-NOT: MPI_Comm_free
// CHECK: return
func.func @group_comm_whole(%world: i32, %in: memref<4xf32>, %out: memref<4xf32>) {
  %c = nova.group_comm %world over @grid ["data", "model"] : i32
  nova.all_reduce %in, %c over @grid ["data", "model"] into %out : memref<4xf32>, memref<4xf32>
  nova.comm_free %c : i32
  return
}

// A split communicator is freed through a pointer to it.
// CHECK-LABEL: func.func @comm_free
// CHECK: llvm.call @MPI_Comm_split(%{{.+}}, %{{.+}}, %{{.+}}, %[[SPLITSLOT:[^)]+]])
// CHECK: %[[COMM:.+]] = llvm.load %[[SPLITSLOT]] : !llvm.ptr -> i32
// CHECK: llvm.store %[[COMM]], %[[SLOT:[^ ]+]] : i32, !llvm.ptr
// CHECK: %[[RC:.+]] = llvm.call @MPI_Comm_free(%[[SLOT]])
// CHECK: scf.if
// CHECK-NEXT: llvm.call @MPI_Abort(%[[COMM]], %[[RC]])
func.func @comm_free(%world: i32) {
  %c = nova.group_comm %world over @grid ["data"] : i32
  nova.comm_free %c : i32
  return
}

// The shard index over ("model", "data"): model-major, 2 * model + data.
// CHECK-LABEL: func.func @shard_index
// CHECK-SAME: (%[[WORLD:.+]]: i32) -> index
// CHECK: llvm.call @MPI_Comm_size(%[[WORLD]],
// CHECK: llvm.call @MPI_Comm_rank(%[[WORLD]],
// CHECK: %[[RANK:.+]] = llvm.load
// CHECK: %[[MODEL:.+]] = arith.remui %{{.+}}, %{{.+}} : i32
// CHECK: %[[SCALED:.+]] = arith.muli %{{.+}}, %{{.+}} : i32
// CHECK: %[[FIRST:.+]] = arith.addi %[[SCALED]], %[[MODEL]] : i32
// CHECK: %[[DATA:.+]] = arith.remui %{{.+}}, %{{.+}} : i32
// CHECK: %[[TIMES2:.+]] = arith.muli %[[FIRST]], %{{.+}} : i32
// CHECK: %[[INDEX:.+]] = arith.addi %[[TIMES2]], %[[DATA]] : i32
// CHECK: %[[RESULT:.+]] = arith.index_castui %[[INDEX]] : i32 to index
// CHECK: return %[[RESULT]]
func.func @shard_index(%world: i32) -> index {
  %i = nova.shard_index %world over @grid ["model", "data"] : index
  return %i : index
}
