// RUN: nova-opt %s --nova-collectives-to-mpi -split-input-file -verify-diagnostics

// Lowering runs on buffers: a collective still on tensors is an error.
nova.mesh @mesh ["model" = 2]
func.func @tensor_form(%x: tensor<4xf32>, %comm: i32) -> tensor<4xf32> {
  // expected-error @below {{nova-collectives-to-mpi: expected the buffer form of 'nova.all_reduce' (run one-shot-bufferize before lowering collectives)}}
  %y = nova.all_reduce %x, %comm over @mesh ["model"] : tensor<4xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// i1 has no MPI datatype to sum with.
nova.mesh @mesh ["model" = 2]
func.func @bool_sum(%x: memref<4xi1>, %y: memref<4xi1>, %comm: i32) {
  // expected-error @below {{nova-collectives-to-mpi: no MPI datatype reduces 'i1' (expected f32, f64, i8, i16, i32 or i64)}}
  nova.all_reduce %x, %comm over @mesh ["model"] into %y : memref<4xi1>, memref<4xi1>
  return
}

// -----

// Only communicators from nova.group_comm are freed.
func.func @free_world(%comm: i32) {
  // expected-error @below {{nova-collectives-to-mpi: expected the operand of nova.comm_free to be a nova.group_comm result}}
  nova.comm_free %comm : i32
  return
}

// -----

// A declaration of an MPI function with another signature is not reused.
nova.mesh @mesh ["model" = 2]
// expected-error @below {{nova-collectives-to-mpi: 'MPI_Allreduce' is already defined with another type; expected '!llvm.func<i32 (ptr, ptr, i32, i32, i32, i32)>' (MPICH ABI)}}
llvm.func @MPI_Allreduce(!llvm.ptr, !llvm.ptr, i64, i32, i32, i32) -> i32
func.func @clash(%x: memref<4xf32>, %y: memref<4xf32>, %comm: i32) {
  nova.all_reduce %x, %comm over @mesh ["model"] into %y : memref<4xf32>, memref<4xf32>
  return
}

// -----

// What the CPU path cannot lower is reported, not left behind: upstream
// shard and mpi ops, and sharding annotations.
func.func @leftovers(%x: tensor<4xf32>) -> i32 {
  // expected-error @below {{nova-collectives-to-mpi: 'mpi.comm_world' is left after lowering collectives to MPI; the CPU pipeline has no lowering for it}}
  %w = mpi.comm_world : !mpi.comm
  // expected-error @below {{nova-collectives-to-mpi: 'mpi.comm_size' is left after lowering collectives to MPI; the CPU pipeline has no lowering for it}}
  %err, %size = mpi.comm_size(%w) : !mpi.retval, i32
  return %size : i32
}

// -----

nova.mesh @mesh ["model" = 2]
func.func @shard_left(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{nova-collectives-to-mpi: 'nova.shard' is left after lowering collectives to MPI; the CPU pipeline has no lowering for it}}
  %y = nova.shard %x to <@mesh, ["model"]> : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Not one MPI_Allgather can send more than 2^31 - 1 bytes.
nova.mesh @mesh ["model" = 2]
func.func @huge(%x: memref<32768x32768xf32>, %y: memref<65536x32768xf32>, %comm: i32) {
  // expected-error @below {{nova-collectives-to-mpi: the shard's byte count (4294967296) exceeds MPI's int count (2^31 - 1)}}
  nova.all_gather %x, %comm over @mesh ["model"] dim 0 into %y : memref<32768x32768xf32>, memref<65536x32768xf32>
  return
}
