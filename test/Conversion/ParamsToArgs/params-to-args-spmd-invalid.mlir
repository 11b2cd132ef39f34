// RUN: nova-opt %s --nova-params-to-args -split-input-file -verify-diagnostics

// The communicator is an entry's last argument (after its inputs), an i32.
nova.mesh @mesh ["model" = 2]
// expected-error @below {{the communicator (argument 0, type 'i32') must be the last argument, of type i32 (an MPICH MPI_Comm)}}
func.func @first(%comm: i32 {nova.communicator}, %x: tensor<2x16xf32>) -> tensor<2x16xf32> {
  return %x : tensor<2x16xf32>
}

// -----

nova.mesh @mesh ["model" = 2]
// expected-error @below {{the communicator (argument 1, type 'i64') must be the last argument, of type i32 (an MPICH MPI_Comm)}}
func.func @wide(%x: tensor<2x16xf32>, %comm: i64 {nova.communicator}) -> tensor<2x16xf32> {
  return %x : tensor<2x16xf32>
}

// -----

// An SPMD module's entries all take the communicator.
nova.mesh @mesh ["model" = 2]
func.func @spmd(%x: tensor<2xf32>, %comm: i32 {nova.communicator}) -> tensor<2xf32> {
  return %x : tensor<2xf32>
}
// expected-error @below {{entry 'plain' takes no communicator (nova.communicator) but entry 'spmd' does: the entries of an SPMD module all take one}}
func.func @plain(%x: tensor<2xf32>) -> tensor<2xf32> {
  return %x : tensor<2xf32>
}

// -----

// The types are this rank's shards of the global tensors the manifest
// records: a quantized weight's global scales are what its (global) scale
// layout gives for the global weight, here [2, 3] for the [8, 3] weight
// split in two, whose shard is [1, 3].
nova.mesh @mesh ["model" = 2]
func.func @scales(%x: tensor<2x3xf32>, %comm: i32 {nova.communicator}) -> tensor<2x3xf32> {
  // expected-error @below {{parameter 'w' in an SPMD module: its scales [2, 3] is not [1, 3], the shard of the global scales [2, 3]}}
  %q, %s = nova.param "w" scales <row_blocks = 2> sharding <@mesh, ["model", None]> : tensor<4x3xi8>, tensor<2x3xf32>
  return %x : tensor<2x3xf32>
}
