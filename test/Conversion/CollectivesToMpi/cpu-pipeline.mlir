// RUN: nova-opt %s --nova-cpu-pipeline | FileCheck %s
// RUN: nova-opt %s --emit=llvm | FileCheck %s --check-prefix=LLVM
// RUN: nova-opt %s --emit=manifest | FileCheck %s --check-prefix=MANIFEST

// One rank's program of a 2-device SPMD module through the whole CPU
// pipeline: the collectives bufferize (the all-reduce writes a fresh buffer,
// here the caller's output), become MPI calls, and reach LLVM IR as calls of
// the MPICH C API. The communicator stays the argument after the inputs.

nova.mesh @mesh ["model" = 2]

// Column-parallel (w1 split along N) into row-parallel (w2 split along K)
// quantized matmuls; per-column scales follow their weight's columns, or
// are broadcast when the weight is split along its rows.
// CHECK-LABEL: llvm.func @mlp
// CHECK-SAME: (%[[X:[^:]+]]: !llvm.ptr {nova.name = "x"}, %[[COMM:[^:]+]]: i32 {nova.communicator},
// CHECK-SAME: %{{[^:]+}}: !llvm.ptr {nova.param = "mlp/w1"}, %{{[^:]+}}: !llvm.ptr {nova.param = "mlp/w1.scales"},
// CHECK-SAME: %{{[^:]+}}: !llvm.ptr {nova.param = "mlp/w2"}, %{{[^:]+}}: !llvm.ptr {nova.param = "mlp/w2.scales"},
// CHECK-SAME: %[[Y:[^:]+]]: !llvm.ptr {nova.name = "y"})
// CHECK: %[[RC:.+]] = llvm.call @MPI_Allreduce(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[COMM]]) : (!llvm.ptr, !llvm.ptr, i32, i32, i32, i32) -> i32
// CHECK: llvm.call @MPI_Abort(%[[COMM]], %[[RC]])
// CHECK-NOT: nova.
// CHECK: llvm.return
//
// LLVM-DAG: declare i32 @MPI_Abort(i32, i32)
// LLVM-DAG: declare i32 @MPI_Allgather(ptr, i32, i32, ptr, i32, i32, i32)
// LLVM-DAG: declare i32 @MPI_Allreduce(ptr, ptr, i32, i32, i32, i32)
// LLVM-LABEL: define void @nova_mlp(ptr {{.*}}%0, i32 %1, ptr {{.*}}%2, ptr {{.*}}%3, ptr {{.*}}%4, ptr {{.*}}%5, ptr {{.*}}%6)
// LLVM: call i32 @MPI_Allreduce(ptr {{.+}}, ptr %6, i32 32, i32 1275069450, i32 1476395011, i32 %1)
// LLVM: call i32 @MPI_Abort(i32 %1,
func.func @mlp(%x: tensor<2x16xbf16> {nova.name = "x"}, %comm: i32 {nova.communicator})
    -> (tensor<2x16xf32> {nova.name = "y"}) {
  %q1, %s1 = nova.param "mlp/w1" scales <per_column> sharding <@mesh, [None, "model"]>
      : tensor<16x8xi8>, tensor<1x8xbf16>
  %q2, %s2 = nova.param "mlp/w2" scales <per_column> sharding <@mesh, ["model", None]>
      : tensor<8x16xi8>, tensor<1x16xbf16>
  %h = nova.qmatmul %x, %q1, %s1 layout <per_column>
      : tensor<2x16xbf16>, tensor<16x8xi8>, tensor<1x8xbf16> -> tensor<2x8xbf16>
  %a = nova.gelu %h : tensor<2x8xbf16>
  %p = nova.qmatmul %a, %q2, %s2 layout <per_column>
      : tensor<2x8xbf16>, tensor<8x16xi8>, tensor<1x16xbf16> -> tensor<2x16xf32>
  %c = nova.group_comm %comm over @mesh ["model"] : i32
  %y = nova.all_reduce %p, %c over @mesh ["model"] : tensor<2x16xf32> -> tensor<2x16xf32>
  nova.comm_free %c : i32
  return %y : tensor<2x16xf32>
}

// An all-gather along the inner dimension of a [2, 4] shard: MPI_Allgather
// of its 16 bytes into a temporary, then the re-layout loops into y.
// CHECK-LABEL: llvm.func @gather
// CHECK: llvm.call @malloc
// CHECK: llvm.call @MPI_Allgather(%{{.+}}, %[[N:.+]], %[[BYTE:.+]], %{{.+}}, %[[N]], %[[BYTE]], %{{.+}}) : (!llvm.ptr, i32, i32, !llvm.ptr, i32, i32, i32) -> i32
// CHECK: llvm.call @free
//
// LLVM-LABEL: define void @nova_gather(ptr {{.*}}%0, i32 %1, ptr {{.*}}%2)
// LLVM: call i32 @MPI_Allgather(ptr %0, i32 16, i32 1275068685, ptr {{.+}}, i32 16, i32 1275068685, i32 %1)
func.func @gather(%x: tensor<2x4xbf16> {nova.name = "x"}, %comm: i32 {nova.communicator})
    -> (tensor<2x8xbf16> {nova.name = "y"}) {
  %y = nova.all_gather %x, %comm over @mesh ["model"] dim 1 : tensor<2x4xbf16> -> tensor<2x8xbf16>
  return %y : tensor<2x8xbf16>
}

// The manifest: global shapes (the scales of the row-split w2 broadcast),
// the local blocks the entries take, the communicator after the inputs.
// MANIFEST:      "nova_manifest": 3,
// MANIFEST:      "path": "mlp/w1",
// MANIFEST-NEXT: "dtype": "i8",
// MANIFEST-NEXT: "shape": [16, 16],
// MANIFEST-NEXT: "local_shape": [16, 8],
// MANIFEST-NEXT: "scales": {
// MANIFEST-NEXT:   "dtype": "bf16",
// MANIFEST-NEXT:   "shape": [1, 16],
// MANIFEST-NEXT:   "local_shape": [1, 8],
// MANIFEST:      "path": "mlp/w2",
// MANIFEST-NEXT: "dtype": "i8",
// MANIFEST-NEXT: "shape": [16, 16],
// MANIFEST-NEXT: "local_shape": [8, 16],
// MANIFEST-NEXT: "scales": {
// MANIFEST-NEXT:   "dtype": "bf16",
// MANIFEST-NEXT:   "shape": [1, 16],
// MANIFEST-NEXT:   "local_shape": [1, 16],
// MANIFEST:      "name": "mlp",
// MANIFEST:      {"role": "input", "name": "x", "dtype": "bf16", "shape": [2, 16]},
// MANIFEST-NEXT: {"role": "communicator", "name": "comm", "dtype": "i32", "shape": []},
// MANIFEST-NEXT: {"role": "parameter", "name": "mlp/w1", "dtype": "i8", "shape": [16, 8]},
// MANIFEST-NEXT: {"role": "scales", "name": "mlp/w1.scales", "dtype": "bf16", "shape": [1, 8]},
// MANIFEST-NEXT: {"role": "parameter", "name": "mlp/w2", "dtype": "i8", "shape": [8, 16]},
// MANIFEST-NEXT: {"role": "scales", "name": "mlp/w2.scales", "dtype": "bf16", "shape": [1, 16]},
// MANIFEST-NEXT: {"role": "output", "name": "y", "dtype": "f32", "shape": [2, 16]}
