// The CUDA host-object check (cuda-target.test, test/gpu/run-on-device.sh).
func.func @small(%x: tensor<1000xf32>, %q: tensor<64x1000xi8>, %s: tensor<1x1000xbf16>, %v: tensor<1x64xf32>) -> (tensor<1000xf32>, tensor<1x1000xf32>) {
  %y = arith.addf %x, %x : tensor<1000xf32>
  %m = nova.qmatmul %v, %q, %s layout <per_column> : tensor<1x64xf32>, tensor<64x1000xi8>, tensor<1x1000xbf16> -> tensor<1x1000xf32>
  return %y, %m : tensor<1000xf32>, tensor<1x1000xf32>
}
